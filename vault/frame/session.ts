/**
 * The frame's API as served to the widget: `begin({token, locale, theme})`, once.
 *
 * `begin` verifies the pivot token (issuer keys from the vault's own origin), checks that the
 * token names the very origin that connected, and only then renders the form of the step's kind
 * (card, address, transfer confirmation), showing amount, payee, purpose and reference from the
 * SIGNED claims. It never throws: every failure is a
 * typed `BeginResult` (a thrown error would carry a stack across the boundary).
 *
 * @module
 */
import type { JWTVerifyGetKey } from 'jose';
import * as v from 'valibot';
import type { ErrorCode } from '../../protocol/errors.ts';
import { BeginArgsSchema, type BeginResult, type DisplayInfo, type FrameApi, type Theme } from '../../protocol/frame.ts';
import { FRAME_TITLES } from '../../protocol/steps/index.ts';
import { formatAmount, type Amount, type Step } from '../../protocol/pivot-token.ts';
import type { FrameConfig } from '../shared/frame-config.ts';
import { PivotTokenError, verifyPivotToken } from '../shared/verify-pivot-token.ts';
import { renderAddressForm } from './address-form.ts';
import { renderCardForm } from './card-form.ts';
import { renderDecisionForm } from './decision-form.ts';
import { notice, replaceChildren } from './dom.ts';
import { measureHeight, type Emit } from './events.ts';
import { createFacade } from './hardened-endpoint.ts';
import { messageFor } from './messages.ts';

export interface FrameSessionDeps {
  readonly config: FrameConfig;
  /** Origin of the host page that sent the accepted `connect`. */
  readonly parentOrigin: string;
  readonly root: HTMLElement;
  readonly emit: Emit;
  /** Key function over the trusted issuer's JWKS, served by the vault origin. */
  readonly getKey: JWTVerifyGetKey;
}

function failure(code: ErrorCode): BeginResult {
  return { ok: false, error: { code, message: messageFor(code) } };
}

/** Apply the allow-listed theme tokens as CSS custom properties (CSSOM; no style attribute). */
function applyTheme(doc: Document, theme: Theme | undefined): void {
  if (!theme) return;
  const style = doc.documentElement.style;
  if (theme.accent) style.setProperty('--spc-accent', theme.accent);
  if (theme.radius !== undefined) style.setProperty('--spc-radius', `${theme.radius}px`);
  if (theme.fontScale !== undefined) style.setProperty('--spc-font-scale', String(theme.fontScale));
  if (theme.colorScheme) doc.documentElement.setAttribute('data-scheme', theme.colorScheme);
}

function safeFormat(amount: Amount, locale: string | undefined): string {
  try {
    return formatAmount(amount, locale);
  } catch {
    return formatAmount(amount, 'en');
  }
}

/** What the frame shows for `step`, from the signed claims only (its kind's fields, an amount formatted). */
function displayOf(step: Step, locale: string | undefined): DisplayInfo {
  const { id: stepId, kind, purpose, reference } = step;
  const amount = 'amount' in step ? { minor: step.amount.minor, currency: step.amount.currency } : undefined;
  return {
    kind,
    stepId,
    ...(amount ? { amount, formattedAmount: safeFormat(amount, locale) } : {}),
    ...('payee' in step ? { payee: { name: step.payee.name, accountLast4: step.payee.accountLast4 } } : {}),
    purpose,
    reference,
  } as DisplayInfo;
}

/** The form of each step kind. */
const FORMS: { readonly [K in DisplayInfo['kind']]: (root: HTMLElement, options: { display: Extract<DisplayInfo, { kind: K }>; pivotToken: string; emit: FrameSessionDeps['emit'] }) => void } = {
  card_payment: renderCardForm,
  address_change: renderAddressForm,
  transfer: renderDecisionForm,
  payee_confirmation: renderDecisionForm,
};

/** Build the frozen, null-prototype API object the hardened endpoint exposes. */
export function createFrameApi(deps: FrameSessionDeps): Readonly<FrameApi> {
  let begun = false;

  async function begin(args: unknown): Promise<BeginResult> {
    if (begun) return failure('FRAME_ALREADY_BEGUN');
    begun = true;
    try {
      const parsed = v.safeParse(BeginArgsSchema, args);
      if (!parsed.success) return failure('BAD_REQUEST');
      const { token, locale, theme } = parsed.output;
      const doc = deps.root.ownerDocument;
      applyTheme(doc, theme);
      if (locale) doc.documentElement.lang = locale;

      const claims = await verifyPivotToken(token, {
        getKey: deps.getKey,
        issuer: deps.config.issuer,
        audience: deps.config.audience,
        allowedOrigins: deps.config.allowedParentOrigins,
        expectedOrigin: deps.parentOrigin,
      });
      const display = displayOf(claims.step, locale);
      const options = { pivotToken: token, emit: deps.emit };
      (FORMS[display.kind] as (root: HTMLElement, o: typeof options & { display: DisplayInfo }) => void)(deps.root, { ...options, display });
      doc.title = FRAME_TITLES[display.kind];
      // Escape closes the form (the widget collapses the frame; the step stays open), except while
      // an answer is on its way to the vault.
      doc.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && e.isTrusted && !doc.querySelector('[aria-busy]')) deps.emit({ type: 'dismiss' });
      });
      // The whole form in view where it fits, also once the host has sized the frame to it: it is
      // answered only while fully visible (visibility.ts).
      const show = (): void => deps.root.scrollIntoView({ block: 'center' });
      show();
      doc.defaultView?.addEventListener('resize', show);
      deps.emit({ type: 'ready', height: measureHeight(deps.root) });
      return { ok: true, display };
    } catch (error) {
      const code: ErrorCode = error instanceof PivotTokenError ? error.code : 'INTERNAL_ERROR';
      replaceChildren(deps.root, notice(messageFor(code), 'alert'));
      return failure(code);
    }
  }

  return createFacade({ begin }) as Readonly<FrameApi>;
}
