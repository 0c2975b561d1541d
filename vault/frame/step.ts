/**
 * What the three step forms (card, address, transfer) share: the labelled input, the panel with
 * its summary from the SIGNED claims, the status line, and one submission path to the vault
 * service with one way of reporting its failures. Only the outcome the emitter's strict schema
 * lets through ever leaves the frame.
 *
 * @module
 */
import type { ErrorCode } from '../../protocol/errors.ts';
import type { FrameEvent } from '../../protocol/frame.ts';
import { h, notice, replaceChildren, type Child } from './dom.ts';
import type { Emit } from './events.ts';
import { RETRYABLE_CODES, messageFor } from './messages.ts';
import { PROMPT_FAILED, enrolmentPanel, postWithProof } from './passkey.ts';
import { guard } from './visibility.ts';

export interface Field {
  readonly wrap: HTMLElement;
  readonly input: HTMLInputElement;
  readonly error: HTMLElement;
}

/** A labelled text input with its error line (`aria-describedby`, `aria-invalid`). */
export function field(id: string, label: string, attrs: Readonly<Record<string, string>>, extra?: HTMLElement): Field {
  const errorId = `spc-${id}-error`;
  const input = h('input', {
    id: `spc-${id}`,
    name: id,
    type: 'text',
    spellcheck: 'false',
    autocapitalize: 'off',
    autocorrect: 'off',
    'aria-invalid': 'false',
    'aria-describedby': errorId,
    ...attrs,
  });
  const error = h('p', { id: errorId, class: 'spc-error' });
  const wrap = h('div', { class: `spc-field spc-field-${id}` }, h('label', { for: input.id }, label), h('div', { class: 'spc-input' }, input, extra), error);
  return { wrap, input, error };
}

/** What the summary shows: from the signed claims only. */
export interface SummaryInfo {
  readonly formattedAmount?: string;
  readonly purpose: string;
  readonly reference: string;
}

export interface StepPanel<K extends 'form' | 'div'> {
  readonly panel: HTMLElementTagNameMap[K];
  readonly status: HTMLElement;
  /** The occlusion and cursor-jacking check of an answer's event (visibility.ts). */
  readonly allowed: (event: Event) => boolean;
}

/**
 * The step's panel: summary (amount, `payee` line, purpose, reference), then `body` (its buttons
 * gathered at its end), an alert line, a status line and the sentence saying where the data goes.
 * The summary and the buttons in `body` are the decision area the visibility guard watches; when
 * the form is taller than the frame (zoom, small screens), they stick to the top and the bottom of
 * the frame's scroll box (frame.css), so the area stays in view while the fields scroll between.
 */
export function stepPanel<K extends 'form' | 'div'>(
  tag: K,
  attrs: Readonly<Record<string, string>>,
  display: SummaryInfo,
  payee: string | undefined,
  body: readonly Child[],
  secure: string,
): StepPanel<K> {
  const status = h('p', { class: 'spc-status', role: 'status' });
  const alert = h('p', { class: 'spc-alert', role: 'alert' });
  const line = (cls: string, text: string | undefined): Child => text !== undefined && h('p', { class: `spc-${cls}` }, text);
  const summary = h('div', { class: 'spc-summary' }, line('amount', display.formattedAmount), line('payee', payee), line('purpose', display.purpose), line('reference', `Reference ${display.reference}`));
  const isButton = (c: Child): boolean => c instanceof HTMLButtonElement;
  const actions = h('div', { class: 'spc-actions' }, ...body.filter(isButton));
  // The summary sticks only within `main`, which ends above the buttons: it can never slide under them.
  const main = h('div', { class: 'spc-main' }, summary, ...body.filter((c) => !isButton(c)));
  const panel = h(tag, { class: 'spc-form', ...attrs }, main, actions, alert, status, h('p', { class: 'spc-secure' }, secure));
  const buttons = [...panel.querySelectorAll('button')];
  return { panel: panel as HTMLElementTagNameMap[K], status, allowed: guard([summary, ...buttons], buttons, alert) };
}

export interface SubmitContext {
  readonly root: HTMLElement;
  readonly emit: Emit;
  readonly panel: HTMLElement;
  readonly status: HTMLElement;
  /** Disabled while the request is in flight; the first one being disabled means busy. */
  readonly buttons: readonly HTMLButtonElement[];
  /** Inputs emptied once the step is over (done, or failed for good). */
  readonly inputs: readonly Field[];
  /** From `stepPanel`: false when the answer's event must not count. */
  readonly allowed: (event: Event) => boolean;
}

type CompleteEvent = Extract<FrameEvent, { type: 'complete' }>;

/** A completed step: the event to emit and the notice shown in place of the panel. */
export interface Done {
  readonly event: CompleteEvent;
  readonly notice: string;
}

export interface SubmitHandlers {
  /** From the 201 body: the step is done, or a code when the body is not what was promised. */
  readonly done: (json: unknown) => Done | ErrorCode;
  /** Marks the field a code belongs to; true when it did (the customer corrects it there). */
  readonly onField?: (code: ErrorCode) => boolean;
}

/** True while a submission of this panel is in flight. */
export function busy(ctx: SubmitContext): boolean {
  return ctx.buttons[0]!.disabled;
}

function setBusy(ctx: SubmitContext, on: boolean): void {
  for (const b of ctx.buttons) b.disabled = on;
  if (on) ctx.panel.setAttribute('aria-busy', 'true');
  else ctx.panel.removeAttribute('aria-busy');
}

/**
 * Answer the step for `event` (the trusted click or submit): refused while busy or when the
 * visibility guard says no (the reason is shown, nothing is sent). Else POST `body` to `path`
 * once, then either complete the step (clear the inputs, show the notice, emit `complete`) or
 * report the failure: emit `error`, and mark the field, show a retry sentence, or replace the
 * panel with an alert (inputs cleared).
 */
export function submitStep(
  ctx: SubmitContext,
  event: Event,
  path: string,
  body: { readonly pivotToken: string } & Record<string, unknown>,
  pending: string,
  handlers: SubmitHandlers,
): void {
  if (busy(ctx) || !ctx.allowed(event)) return;
  setBusy(ctx, true);
  ctx.status.textContent = pending;
  void postWithProof(path, body).then((result) => {
    setBusy(ctx, false);
    const outcome = result.ok ? handlers.done(result.json) : result.code;
    const clear = (): void => {
      for (const f of ctx.inputs) f.input.value = '';
    };
    if (typeof outcome === 'object') {
      clear();
      replaceChildren(ctx.root, notice(outcome.notice));
      ctx.emit(outcome.event);
      return;
    }
    const message = messageFor(outcome);
    ctx.emit({ type: 'error', error: { code: outcome, message } });
    const say = (text: string): void => void (ctx.status.textContent = text);
    const offerEnrolment = (): void => {
      if (ctx.panel.querySelector('.spc-passkey')) return;
      for (const b of ctx.buttons) b.disabled = true;
      ctx.status.before(enrolmentPanel(body.pivotToken, say, () => setBusy(ctx, false)));
    };
    if (outcome === 'PASSKEY_REQUIRED') {
      // No passkey yet, and the bank's policy wants one: offer to create it here, then the
      // customer answers again (a deliberate second press).
      offerEnrolment();
      ctx.status.textContent = message;
    } else if (outcome === PROMPT_FAILED) {
      // Cancelled, or a device that holds none of the customer's passkeys (a new phone): they may
      // press again, or add a passkey on this device (a bank sign-in and a code to their phone).
      if (!ctx.panel.querySelector('.spc-passkey, .spc-passkey-add')) {
        const add = h('button', { type: 'button', class: 'spc-passkey-add' }, 'Add a passkey on this device');
        add.addEventListener('click', (e) => {
          if (!e.isTrusted) return;
          add.remove();
          offerEnrolment();
        });
        ctx.status.before(add);
      }
      ctx.status.textContent = message;
    } else if (handlers.onField?.(outcome)) ctx.status.textContent = '';
    else if (RETRYABLE_CODES.has(outcome)) ctx.status.textContent = message;
    else {
      clear();
      replaceChildren(ctx.root, notice(message, 'alert'));
    }
  });
}
