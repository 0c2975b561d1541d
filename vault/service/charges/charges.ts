/**
 * The processor-facing charge: the bank's back end charges a stored card by its token; the vault
 * alone opens the PAN and sends it to the processor; the answer carries brand and last 4 only.
 *
 * 1. client credential (client-auth.ts), then its `jti` consumed  -> 401 / 409 CLIENT_CREDENTIAL_*
 * 2. parse the body (ChargeRequestSchema)                           -> 400 BAD_REQUEST
 * 3. idempotency (per client, `charges` unique on client + key hash): a finished charge with the
 *    same key is answered again without charging (a different request under that key -> 409
 *    IDEMPOTENCY_KEY_REUSED); one still running -> 409 CHARGE_IN_PROGRESS
 * 4. the card by token                                              -> 404 CARD_TOKEN_NOT_FOUND
 * 5. reserve the key (`pending` row), open the PAN, take the CVC once (cvc-store.ts: present only
 *    for the card's first charge within CVC_TTL_MS; later charges are card-on-file, no CVC)
 * 6. POST to `VAULT_PROCESSOR_URL`: a 2xx `{status, reference}` -> 201 approved | declined (a
 *    decline is a result, not an error); anything else (network, timeout, non-2xx, another body)
 *    -> 502 PROCESSOR_UNAVAILABLE: the `pending` row is removed so the client may retry with the
 *    same idempotency key, and the CVC is put back with its ORIGINAL expiry (the charge reached
 *    no result, so the CVC has not been used; its lifetime is never extended). The retry sends
 *    the same `chargeId`, the processor's idempotency key.
 * Every outcome is one audit entry (client id, card token, hash of the idempotency key).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { PivotError } from '../../../protocol/errors.ts';
import {
  ChargeRequestSchema,
  ProcessorChargeResponseSchema,
  type ChargeResponse,
  type ProcessorChargeRequest,
} from '../../../protocol/vault-api.ts';
import type { AuditEntryInput } from '../store/audit-log.ts';
import { openCard } from '../keys/card-crypto.ts';
import { ClientCredentialError, verifyClientCredential, type ClientKeys } from './client-auth.ts';
import type { CvcStore, TakenCvc } from './cvc-store.ts';
import type { ChargesTable } from '../store/db.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import type { PostJson } from '../http/post-json.ts';
import type { VaultStatements } from '../store/statements.ts';
import { systemClock, type Clock } from '../../../protocol/clock.ts';

/** Bytes of a charge id (`chg_` + base64url). */
export const CHARGE_ID_BYTES = 18;

export interface ChargeDeps {
  readonly statements: VaultStatements;
  readonly keys: KeyProvider;
  readonly cvcs: CvcStore;
  readonly clientKeys: ClientKeys;
  /** `VAULT_ORIGIN`: the credential's `aud`. */
  readonly origin: string;
  readonly processorUrl: string;
  readonly post: PostJson;
  readonly timeoutMs: number;
  /** Appends one audit entry (outside a transaction). */
  readonly audit: (entry: AuditEntryInput) => void;
  readonly clock?: Clock;
}

export interface ChargeRequestContext {
  readonly authorization: string | undefined;
  /** The caller's address, for the audit log. */
  readonly ip: string;
}

export interface ChargeResult {
  readonly response: ChargeResponse;
  /** True when an earlier identical request's result is answered again (nothing was charged). */
  readonly replayed: boolean;
  readonly withCvc: boolean;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The idempotency key as recorded (audit, `charges`): a hash, so the key itself is never kept. */
export function idempotencyKeyHash(key: string): string {
  return sha256(`idem\0${key}`);
}

/**
 * The charge id of a client's idempotency key: the same for every attempt under that key, so the
 * processor can recognise a retry (it is the processor's idempotency key).
 */
export function chargeIdFor(clientId: string, keyHash: string): string {
  return `chg_${createHash('sha256').update(`charge\0${clientId}\0${keyHash}`, 'utf8').digest().subarray(0, CHARGE_ID_BYTES).toString('base64url')}`;
}

function responseOf(row: ChargesTable, card: { brand: string; last4: string }): ChargeResponse {
  return {
    chargeId: row.id,
    status: row.status as ChargeResponse['status'],
    processorReference: row.processor_reference ?? '',
    card: { brand: card.brand as ChargeResponse['card']['brand'], last4: card.last4 },
  };
}

/**
 * Authenticate the client and consume its credential (before the body is read); returns the
 * client id. Throws {@link PivotError}, and audits the refusal.
 */
export async function authenticateClient(deps: ChargeDeps, ctx: ChargeRequestContext): Promise<string> {
  const now = new Date((deps.clock ?? systemClock)());
  try {
    const client = await verifyClientCredential(ctx.authorization, { keys: deps.clientKeys, audience: deps.origin, now });
    const fresh = deps.statements.consumeClientJti({ client_id: client.clientId, jti: client.jti, exp: client.exp, used_at: now.toISOString() });
    if (!fresh) throw new ClientCredentialError('CLIENT_CREDENTIAL_REPLAYED', 'jti_replayed', client.clientId);
    return client.clientId;
  } catch (error) {
    if (!(error instanceof ClientCredentialError)) throw error;
    deps.audit({
      actor: { kind: 'client', id: error.claimedClient ? `claimed:${error.claimedClient}` : 'unknown' },
      action: 'client_credential.refused',
      resource: 'POST /v1/charges',
      outcome: 'failure',
      origin: ctx.ip,
      detail: `${error.code} reason=${error.reason}`,
    });
    throw new PivotError(error.code);
  }
}

/** Run one charge for the authenticated `clientId`. Rejects with a {@link PivotError}. */
export async function charge(deps: ChargeDeps, clientId: string, ctx: Pick<ChargeRequestContext, 'ip'>, body: unknown): Promise<ChargeResult> {
  const now = new Date((deps.clock ?? systemClock)());

  const parsed = v.safeParse(ChargeRequestSchema, body);
  if (!parsed.success) throw new PivotError('BAD_REQUEST');
  const request = parsed.output;
  const keyHash = idempotencyKeyHash(request.idempotencyKey);
  const requestHash = sha256(JSON.stringify([request.token, request.amount.minor, request.amount.currency, request.reference]));
  const entry = (outcome: 'success' | 'failure', detail: string): AuditEntryInput => ({
    actor: { kind: 'client', id: clientId },
    action: 'card.charge',
    resource: request.token,
    outcome,
    origin: ctx.ip,
    detail: `${detail} idem=${keyHash.slice(0, 32)}`,
  });
  const refuse = (code: 'CARD_TOKEN_NOT_FOUND' | 'IDEMPOTENCY_KEY_REUSED' | 'CHARGE_IN_PROGRESS'): never => {
    deps.audit(entry('failure', code));
    throw new PivotError(code);
  };

  const previous = deps.statements.getCharge(clientId, keyHash);
  if (previous && previous.request_hash !== requestHash) refuse('IDEMPOTENCY_KEY_REUSED');
  const card = deps.statements.getCard(request.token);
  if (!card) return refuse('CARD_TOKEN_NOT_FOUND');
  if (previous) {
    if (previous.status === 'pending') refuse('CHARGE_IN_PROGRESS');
    deps.audit(entry('success', `replayed status=${previous.status} charge=${previous.id}`));
    return { response: responseOf(previous, card), replayed: true, withCvc: previous.with_cvc === 1 };
  }
  // Key or ciphertext failures are INTERNAL_ERROR, before anything is reserved.
  const { pan } = openCard(
    { keyId: card.key_id, iv: card.iv, ciphertext: card.ciphertext, tag: card.auth_tag },
    card.token,
    await deps.keys.getDataKey(card.key_id),
  );

  const createdAt = now.toISOString();
  const pending: ChargesTable = {
    // Derived from the client and its key: a retry after PROCESSOR_UNAVAILABLE carries the same id.
    id: chargeIdFor(clientId, keyHash),
    client_id: clientId,
    idempotency_key_hash: keyHash,
    request_hash: requestHash,
    card_token: request.token,
    amount_minor: request.amount.minor,
    currency: request.amount.currency,
    reference: request.reference,
    status: 'pending',
    processor_reference: null,
    with_cvc: 0,
    created_at: createdAt,
    updated_at: createdAt,
  };
  // Synchronous since the read above: a concurrent twin finds this row and gets CHARGE_IN_PROGRESS.
  if (deps.statements.getCharge(clientId, keyHash) || !deps.statements.beginCharge(pending)) refuse('CHARGE_IN_PROGRESS');

  let taken: TakenCvc | undefined;
  let answer: v.InferOutput<typeof ProcessorChargeResponseSchema>;
  try {
    taken = await deps.cvcs.take(card.token);
    const processorRequest: ProcessorChargeRequest = {
      chargeId: pending.id,
      pan,
      expMonth: card.exp_month,
      expYear: card.exp_year,
      ...(taken ? { cvc: taken.cvc } : {}),
      amount: { minor: request.amount.minor, currency: request.amount.currency },
      reference: request.reference,
    };
    const result = await deps.post(deps.processorUrl, processorRequest, deps.timeoutMs);
    const parsedAnswer = result.status >= 200 && result.status < 300 ? v.safeParse(ProcessorChargeResponseSchema, result.json) : undefined;
    if (!parsedAnswer?.success) throw new PivotError('PROCESSOR_UNAVAILABLE', undefined, { cause: { name: 'ProcessorAnswer', code: `http ${result.status}` } });
    answer = parsedAnswer.output;
  } catch (error) {
    if (taken) await deps.cvcs.restore(card.token, taken).catch(() => undefined);
    const code = error instanceof PivotError ? error.code : 'PROCESSOR_UNAVAILABLE';
    deps.statements.abandonCharge(pending.id, entry('failure', `${code} charge=${pending.id}`));
    if (error instanceof PivotError) throw error;
    // The cause's kind (ECONNREFUSED, TimeoutError) is logged by the error handler, never its message.
    throw new PivotError('PROCESSOR_UNAVAILABLE', undefined, { cause: error });
  }

  const withCvc = taken !== undefined;
  const outcome = { status: answer.status, processorReference: answer.reference, withCvc, updatedAt: new Date((deps.clock ?? systemClock)()).toISOString() };
  deps.statements.finishCharge(pending.id, outcome, entry(answer.status === 'approved' ? 'success' : 'failure', `status=${answer.status} cvc=${withCvc ? 'first' : 'none'} charge=${pending.id}`));
  const row: ChargesTable = { ...pending, status: answer.status, processor_reference: answer.reference, with_cvc: withCvc ? 1 : 0 };
  return { response: responseOf(row, card), replayed: false, withCvc };
}
