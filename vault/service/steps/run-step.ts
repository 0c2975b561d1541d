/**
 * The one pipeline every step kind's answer goes through in the vault service:
 *
 * 1. parse the body with the kind's request schema                -> 400 BAD_REQUEST
 * 2. verify the pivot token authoritatively, and that its step is of this kind
 *    (step-token.ts)                                              -> 401 TOKEN_* / 403 TOKEN_STEP_KIND_MISMATCH / 502
 * 3. refuse a token that used up its refused answers              -> 429 RATE_LIMITED
 * 3b. the proof that the CUSTOMER answers (passkeys/passkeys.ts): a passkey assertion for this
 *    step's challenge, or, for a customer with no passkey, what the kind's `withoutPasskey`
 *    policy accepts; a refusal counts against the token like a check's -> 403 PASSKEY_REQUIRED, 401 PASSKEY_*
 * 4. the kind's own checks (a card's Luhn and expiry, an address's country); a refusal counts
 *    against the token (the kind's `maxRefusedPerToken`) and does NOT consume it, so a typo
 *    does not burn the request                                    -> 422 with the kind's code
 * 5. the kind seals what it stores and says what the notice and the audit line carry
 * 6. ONE transaction: consume the token's `jti` (a second use -> 409 TOKEN_REPLAYED), consume
 *    the passkey challenge and store the signature counter, write the kind's row, queue the
 *    notice (which says how the customer was verified) for the chat server, append the audit entry
 * 7. what the kind does once the row is stored (the card's CVC goes to the in-memory store)
 *
 * A kind supplies only steps 1, 4, 5 and 7 (`VaultStepKind`); the order, the token rules, the
 * limits and the transaction are the same for all.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { PivotError, type ErrorCode } from '../../../protocol/errors.ts';
import { STEP_DEFINITIONS, type StepKind } from '../../../protocol/steps/index.ts';
import type { AuthenticationResponse } from '../../../protocol/passkeys.ts';
import type { Passkeys, PresenceProof } from '../passkeys/passkeys.ts';
import type { AuditEntryInput } from '../store/audit-log.ts';
import type { StoredNoticeClaims } from '../notices/outbox.ts';
import type { NoticeOutboxTable } from '../store/db.ts';
import type { PivotClaims } from '../../../protocol/pivot-token.ts';
import type { AttemptLimiter } from './rate-limit.ts';
import type { VaultStatements } from '../store/statements.ts';
import { verifyStepToken, type StepClaims, type StepTokenDeps } from './step-token.ts';
import type { Clock } from '../../../protocol/clock.ts';

/** Random bytes in a notice id (`ntc_` + base64url). */
export const NOTICE_ID_BYTES = 18;

/**
 * A notice to the chat server about the step of `claims`, as an outbox row: a new `ntc_` id, the
 * claims every notice carries (issuer, audience, conversation, step, pivot jti) and `payload`,
 * due at once.
 */
export function outboxNotice(
  addresses: { readonly origin: string; readonly noticeAudience: string },
  claims: Pick<PivotClaims, 'cnv' | 'jti'> & { readonly step: { readonly id: string } },
  payload: Record<string, unknown>,
  now: number,
): { readonly id: string; readonly row: NoticeOutboxTable } {
  const id = `ntc_${randomBytes(NOTICE_ID_BYTES).toString('base64url')}`;
  const stored = { iss: addresses.origin, aud: addresses.noticeAudience, jti: id, cnv: claims.cnv, stp: claims.step.id, ptj: claims.jti, ...payload };
  return { id, row: { id, claims: JSON.stringify(stored), created_at: now, attempts: 0, next_attempt_at: now, last_error: null } };
}

/** The notice's kind-specific part: its event and the fields that event carries. */
export type NoticePayload = StoredNoticeClaims extends infer C
  ? C extends unknown
    ? Omit<C, 'iss' | 'aud' | 'jti' | 'cnv' | 'stp' | 'ptj'>
    : never
  : never;

/** What a kind stores for one accepted answer. */
export interface StepRecord<Response> {
  /** Writes the kind's row; runs inside the pipeline's transaction, so it must be synchronous. */
  readonly write: () => void;
  readonly notice: NoticePayload;
  /** The audit entry's action (e.g. `card.tokenize`) and resource (an id, never a secret). */
  readonly audit: { readonly action: string; readonly resource: string };
  /** The 201 body: only what may be shown outside the vault. */
  readonly response: Response;
  /** Fields of the "done" log line: ids and display data, never what the customer typed. */
  readonly log: Readonly<Record<string, string>>;
  /** Runs after the transaction committed; it must not throw (the answer is already stored). */
  readonly afterStore?: () => Promise<Readonly<Record<string, unknown>>>;
}

export type CheckResult<Checked> = { readonly ok: true; readonly value: Checked } | { readonly ok: false; readonly code: ErrorCode };

/** One step kind in the vault service. */
export interface VaultStepKind<K extends StepKind, Request, Checked, Response> {
  readonly kind: K;
  readonly path: string;
  readonly maxBodyBytes: number;
  readonly requestSchema: v.GenericSchema<unknown, Request>;
  /** The kind's own checks of the customer's answer (no I/O). */
  check(request: Request, claims: StepClaims<K>, now: Date): CheckResult<Checked>;
  /** Seals and describes what to store for an answer that passed `check`. */
  record(checked: Checked, claims: StepClaims<K>, now: Date): Promise<StepRecord<Response>>;
  /** The "done" log message, e.g. "card tokenized". */
  readonly logMessage: string;
}

export interface RunStepDeps extends StepTokenDeps {
  readonly statements: VaultStatements;
  /** Refused answers per pivot token, for this kind. */
  readonly attempts: AttemptLimiter;
  /** The chat server's origin: the notices' `aud`. */
  readonly noticeAudience: string;
  readonly clock: Clock;
  readonly passkeys: Passkeys;
}

export interface StepOutcome<Response> {
  readonly response: Response;
  readonly noticeId: string;
  readonly log: Readonly<Record<string, unknown>>;
}

/** Runs one answer of `kind` through the pipeline. Rejects with a {@link PivotError}. */
export async function runStep<K extends StepKind, Request, Checked, Response>(
  deps: RunStepDeps,
  kind: VaultStepKind<K, Request, Checked, Response>,
  body: unknown,
): Promise<StepOutcome<Response>> {
  const parsed = v.safeParse(kind.requestSchema, body);
  if (!parsed.success) throw new PivotError('BAD_REQUEST');
  const request = parsed.output as Request & { readonly pivotToken: string; readonly assertion?: AuthenticationResponse };
  const now = new Date(deps.clock());
  const claims = await verifyStepToken(deps, request.pivotToken, kind.kind, now);

  const nowS = Math.floor(now.getTime() / 1000);
  if (deps.attempts.blocked(claims.jti, nowS)) throw new PivotError('RATE_LIMITED');
  let proof: PresenceProof;
  try {
    proof = await deps.passkeys.verifyPresence(STEP_DEFINITIONS[kind.kind], claims, request.assertion);
  } catch (error) {
    // A missing proof is no guess; a wrong one counts like a refused answer.
    if (!(error instanceof PivotError) || error.code !== 'PASSKEY_REQUIRED') deps.attempts.failed(claims.jti, claims.exp, nowS);
    throw error;
  }
  const checked = kind.check(request, claims, now);
  if (!checked.ok) {
    deps.attempts.failed(claims.jti, claims.exp, nowS);
    throw new PivotError(checked.code);
  }

  const record = await kind.record(checked.value, claims, now);
  const notice = outboxNotice(deps, claims, { ...record.notice, verified: proof.method }, now.getTime());
  const audit: AuditEntryInput = {
    actor: { kind: 'customer', id: claims.sub },
    action: record.audit.action,
    resource: record.audit.resource,
    outcome: 'success',
    origin: claims.origin,
    detail: `step=${claims.step.id} verified=${proof.method}${proof.credentialId ? ` passkey=${proof.credentialId}` : ''}`,
  };
  const stored = deps.statements.storeStep(
    { jti: claims.jti, exp: claims.exp, used_at: now.toISOString() },
    () => {
      proof.commit();
      record.write();
    },
    notice.row,
    audit,
  );
  if (!stored) throw new PivotError('TOKEN_REPLAYED');
  const after = record.afterStore ? await record.afterStore() : {};
  return { response: record.response, noticeId: notice.id, log: { ...record.log, verified: proof.method, ...after } };
}
