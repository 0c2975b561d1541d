/**
 * The console's step request form, without the DOM: which fields each step kind asks for, the
 * request body built from what the agent typed (validated with the protocol's schema before it
 * leaves the console), and the one-line description of a requested step.
 *
 * @module
 */
import * as v from 'valibot';
import { StepRequestSchema, type StepRequest } from '../../protocol/chat.ts';
import { STEP_DEFINITIONS, STEP_FIELDS, STEP_KINDS, type Step, type StepKind } from '../../protocol/steps/index.ts';
import { PAYEE_NAME_MAX_CHARS, STEP_PURPOSE_MAX_CHARS, STEP_REFERENCE_MAX_CHARS } from '../../protocol/values.ts';
import { money } from '../shared/format.ts';
import { toMinorUnits } from './money.ts';

export { PAYEE_NAME_MAX_CHARS, STEP_PURPOSE_MAX_CHARS, STEP_REFERENCE_MAX_CHARS };

/** A form field of the step request form; `name` is the input's name. */
export type StepField = 'amount' | 'currency' | 'purpose' | 'reference' | 'payeeName' | 'payeeAccount';

export interface StepKindForm {
  readonly kind: StepKind;
  /** Option text of the kind select. */
  readonly label: string;
  /** Text of the submit button. */
  readonly action: string;
  readonly fields: readonly StepField[];
}

/** The form fields behind each field of a kind's request (protocol/steps/<kind>.ts). */
const FORM_FIELDS: Readonly<Record<string, readonly StepField[]>> = {
  amount: ['amount', 'currency'],
  payee: ['payeeName', 'payeeAccount'],
  purpose: ['purpose'],
  reference: ['reference'],
};

/** The kinds in the order the select offers them (STEP_KINDS: card payment first, the default). */
export const STEP_KIND_FORMS: readonly StepKindForm[] = STEP_KINDS.map((kind) => ({
  kind,
  label: STEP_DEFINITIONS[kind].agent.label,
  action: STEP_DEFINITIONS[kind].agent.requestAction,
  fields: Object.keys(STEP_FIELDS[kind]).flatMap((key) => FORM_FIELDS[key] ?? []),
}));

export function stepKindForm(kind: string): StepKindForm {
  return STEP_KIND_FORMS.find((f) => f.kind === kind) ?? STEP_KIND_FORMS[0]!;
}

export type BuiltStepRequest =
  | { readonly ok: true; readonly request: StepRequest; readonly description: string }
  | { readonly ok: false; readonly field: StepField; readonly message: string };

/** The form field behind a top-level key of the request body. */
const ISSUE_FIELDS: Readonly<Record<string, StepField>> = { amount: 'amount', payee: 'payeeName', purpose: 'purpose', reference: 'reference' };

/** Reads one field of the form. */
type FieldValues = (field: StepField) => string;

function fail(field: StepField, message: string): BuiltStepRequest {
  return { ok: false, field, message };
}

/**
 * The request body for `kind` from the agent's input, or which field is wrong and why. The body
 * is checked against StepRequestSchema, so the console never sends what the server would refuse
 * for its shape.
 */
export function buildStepRequest(kind: string, read: FieldValues): BuiltStepRequest {
  const form = stepKindForm(kind);
  const value = (field: StepField) => read(field).trim();
  const purpose = value('purpose');
  const reference = value('reference');
  const body: Record<string, unknown> = { kind: form.kind, purpose, reference };
  if (form.fields.includes('amount')) {
    const currency = value('currency').toUpperCase();
    const minor = toMinorUnits(value('amount'), currency);
    if (minor === null) return fail('amount', 'Enter an amount such as 12.50.');
    body.amount = { minor, currency };
  }
  if (form.fields.includes('payeeName')) {
    const name = value('payeeName');
    const accountLast4 = value('payeeAccount').replace(/\s+/g, '').toUpperCase();
    if (!name || name.length > PAYEE_NAME_MAX_CHARS) return fail('payeeName', `Enter the payee's name (at most ${PAYEE_NAME_MAX_CHARS} characters).`);
    if (!/^[0-9A-Z]{4}$/.test(accountLast4)) return fail('payeeAccount', 'Enter the last 4 characters of the payee\'s account.');
    body.payee = { name, accountLast4 };
  }
  if (!purpose || purpose.length > STEP_PURPOSE_MAX_CHARS) return fail('purpose', `Enter a purpose (at most ${STEP_PURPOSE_MAX_CHARS} characters).`);
  if (!reference || reference.length > STEP_REFERENCE_MAX_CHARS) {
    return fail('reference', `Enter a reference (at most ${STEP_REFERENCE_MAX_CHARS} characters).`);
  }
  const parsed = v.safeParse(StepRequestSchema, body);
  if (!parsed.success) {
    const key = String(parsed.issues[0]?.path?.[0]?.key ?? 'purpose');
    const field = ISSUE_FIELDS[key] ?? 'purpose';
    return fail(field, field === 'amount' ? 'Choose a currency and enter an amount such as 12.50.' : 'Remove line breaks and control characters, then try again.');
  }
  return { ok: true, request: parsed.output, description: requestedText(parsed.output) };
}

/** "Card payment of €12.50 requested." and the like, after the server accepted the request. */
export function requestedText(request: StepRequest): string {
  return STEP_DEFINITIONS[request.kind].agent.requested(request as never, (amount) => money(amount));
}

/** One line describing a requested step, as the conversation log shows it. */
export function stepText(step: Step): string {
  return `${STEP_DEFINITIONS[step.kind].agent.logLine(step as never, (amount) => money(amount))} — ${step.purpose} (ref ${step.reference})`;
}
