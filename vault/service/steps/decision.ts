/**
 * What the decision kinds share in the vault (a transfer to confirm, a new payee to confirm): the
 * answer is Confirm or Decline, fixed by the schema, so nothing can be refused by a check; the
 * kind says only which table holds the answer, what the row and the notice carry, and the words of
 * its audit entry and log line.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type * as v from 'valibot';
import { outcomeOf, STEP_DEFINITIONS, type Decision, type DecisionOutcome, type StepKind } from '../../../protocol/steps/index.ts';
import type { StepClaims } from './step-token.ts';
import type { NoticePayload, VaultStepKind } from './run-step.ts';

/** Random bytes in an answer id (prefix + base64url). */
export const ANSWER_ID_BYTES = 18;

/** The columns every answer row has: which token, conversation, step and customer, and when. */
export function answerColumns(claims: StepClaims<StepKind>, now: Date) {
  return { pivot_jti: claims.jti, conversation_id: claims.cnv, step_id: claims.step.id, subject: claims.sub, created_at: now.toISOString() };
}

export interface DecisionSpec<K extends StepKind, Row extends Record<string, unknown>> {
  readonly kind: K;
  readonly requestSchema: v.GenericSchema<unknown, { readonly pivotToken: string; readonly decision: Decision }>;
  /** `INSERT INTO <table> (...) VALUES (@...)`: prepared once. */
  readonly insertSql: string;
  /** Prefix of the answer's id, e.g. `tra`. */
  readonly idPrefix: string;
  /** The audit action's noun (`transfer` -> `transfer.confirm` / `transfer.decline`). */
  readonly auditNoun: string;
  readonly logMessage: string;
  /** The row, from the SIGNED step only. */
  row(id: string, outcome: DecisionOutcome, claims: StepClaims<K>, now: Date): Row;
  /** The notice's event and what it repeats of the signed step, for the chat server to check. */
  notice(outcome: DecisionOutcome, claims: StepClaims<K>): NoticePayload;
}

export function decisionStep<K extends StepKind, Row extends Record<string, unknown>>(
  sqlite: Database.Database,
  spec: DecisionSpec<K, Row>,
): VaultStepKind<K, { readonly pivotToken: string; readonly decision: Decision }, DecisionOutcome, { readonly outcome: DecisionOutcome }> {
  const insert = sqlite.prepare(spec.insertSql);
  const definition = STEP_DEFINITIONS[spec.kind];
  return {
    kind: spec.kind,
    path: definition.vaultPath,
    maxBodyBytes: definition.maxBodyBytes,
    requestSchema: spec.requestSchema,
    logMessage: spec.logMessage,
    check: (request) => ({ ok: true, value: outcomeOf(request.decision) }),
    async record(outcome, claims, now) {
      const id = `${spec.idPrefix}_${randomBytes(ANSWER_ID_BYTES).toString('base64url')}`;
      const row = spec.row(id, outcome, claims, now);
      return {
        write: () => void insert.run(row),
        notice: spec.notice(outcome, claims),
        audit: { action: `${spec.auditNoun}.${outcome === 'confirmed' ? 'confirm' : 'decline'}`, resource: id },
        response: { outcome },
        log: { outcome },
      };
    },
  };
}
