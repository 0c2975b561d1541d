/**
 * SQLite steps (what an agent asks of the customer: a card payment, an address change, a transfer
 * confirmation), the pivot-token jtis signed for each, and the vault notices that complete them.
 *
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import type { ConversationEvent } from '../../protocol/chat.ts';
import type { CardDisplay } from '../../protocol/frame.ts';
import * as v from 'valibot';
import { StepSchema } from '../../protocol/steps/index.ts';
import { PivotError } from '../../protocol/errors.ts';
import type { ChatDatabase, StepsTable } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';
import type { Clock } from '../lib/clock.ts';
import { parseAcr } from './conversations.ts';
import type { SqliteEventStore } from './events.ts';
import { copyStep, serverStepKind } from '../steps/index.ts';
import type { CompleteStepInput, NewEvent, NewStep, StepRecord, StepStore } from './store.ts';

export class SqliteStepStore implements StepStore {
  readonly #db: Kysely<ChatDatabase>;
  readonly #sync: SyncExecutor;
  readonly #clock: Clock;
  readonly #events: SqliteEventStore;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor, clock: Clock, events: SqliteEventStore) {
    this.#db = db;
    this.#sync = sync;
    this.#clock = clock;
    this.#events = events;
  }

  async create(step: NewStep, author: { role: 'agent' | 'system'; name: string }): Promise<{ step: StepRecord; event: ConversationEvent }> {
    const content = copyStep(step);
    return this.#sync.transaction(() => {
      this.#sync.run(
        this.#db.insertInto('steps').values({
          id: content.id,
          conversation_id: step.conversationId,
          kind: content.kind,
          // A kind's fields beyond purpose and reference: an amount and a payee, where it has them.
          amount_minor: 'amount' in content ? content.amount.minor : null,
          currency: 'amount' in content ? content.amount.currency : null,
          payee: 'payee' in content ? JSON.stringify(content.payee) : null,
          purpose: content.purpose,
          reference: content.reference,
          required_acr: step.requiredAcr,
          status: 'open',
          card: null,
          result: null,
          created_at: this.#clock(),
          completed_at: null,
          unused_pivot_flagged_at: null,
        }),
      );
      const { event } = this.#events.appendSync(step.conversationId, {
        kind: 'step',
        author,
        step: content,
        requiredAcr: step.requiredAcr,
      });
      const record: StepRecord = { ...content, conversationId: step.conversationId, requiredAcr: step.requiredAcr, status: 'open', card: null };
      return { step: record, event };
    });
  }

  async get(id: string): Promise<StepRecord | undefined> {
    const row = this.#sync.first(this.#db.selectFrom('steps').selectAll().where('id', '=', id));
    return row && toStep(row);
  }

  async recordPivotToken(input: {
    jti: string;
    stepId: string;
    sessionId: string;
    issuedAt: number;
    expiresAt: number;
  }): Promise<void> {
    this.#sync.run(
      this.#db.insertInto('step_pivot_tokens').values({
        jti: input.jti,
        step_id: input.stepId,
        session_id: input.sessionId,
        issued_at: input.issuedAt,
        expires_at: input.expiresAt,
      }),
    );
  }

  async countPivotTokens(stepId: string): Promise<number> {
    const row = this.#sync.first(
      this.#db
        .selectFrom('step_pivot_tokens')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('step_id', '=', stepId),
    );
    return Number(row?.n ?? 0);
  }

  async acceptPasskeyNotice(input: Omit<CompleteStepInput, 'result' | 'text'>): Promise<{ readonly sessionId: string }> {
    return this.#sync.transaction(() => {
      const seen = this.#sync.first(this.#db.selectFrom('notices_seen').select('jti').where('jti', '=', input.noticeJti));
      if (seen) throw new PivotError('NOTICE_REPLAYED');
      const step = this.#sync.first(this.#db.selectFrom('steps').select('conversation_id').where('id', '=', input.stepId));
      if (!step || step.conversation_id !== input.conversationId) {
        throw new PivotError('NOTICE_INVALID', 'The notice names a step that is not in that conversation.');
      }
      const issued = this.#sync.first(
        this.#db.selectFrom('step_pivot_tokens').select('session_id').where('jti', '=', input.pivotJti).where('step_id', '=', input.stepId),
      );
      if (!issued) throw new PivotError('NOTICE_INVALID', 'The notice names a pivot token this server did not issue for that step.');
      this.#sync.run(
        this.#db.insertInto('notices_seen').values({
          jti: input.noticeJti,
          step_id: input.stepId,
          received_at: this.#clock(),
          expires_at: input.noticeExpiresAt,
        }),
      );
      return { sessionId: issued.session_id };
    });
  }

  async pivotTokenSession(pivotJti: string): Promise<string | undefined> {
    const row = this.#sync.first(this.#db.selectFrom('step_pivot_tokens').select('session_id').where('jti', '=', pivotJti));
    return row?.session_id;
  }

  async completeFromNotice(input: CompleteStepInput): Promise<ConversationEvent> {
    const outcome = this.#sync.transaction((): ConversationEvent | 'already-completed' => {
      const seen = this.#sync.first(this.#db.selectFrom('notices_seen').select('jti').where('jti', '=', input.noticeJti));
      if (seen) throw new PivotError('NOTICE_REPLAYED');
      const step = this.#sync.first(this.#db.selectFrom('steps').selectAll().where('id', '=', input.stepId));
      if (!step || step.conversation_id !== input.conversationId) {
        throw new PivotError('NOTICE_INVALID', 'The notice names a step that is not in that conversation.');
      }
      const issued = this.#sync.first(
        this.#db
          .selectFrom('step_pivot_tokens')
          .select('jti')
          .where('jti', '=', input.pivotJti)
          .where('step_id', '=', input.stepId),
      );
      if (!issued) throw new PivotError('NOTICE_INVALID', 'The notice names a pivot token this server did not issue for that step.');
      const now = this.#clock();
      // Recorded even when the step is already complete, so that the vault's retries of this
      // notice then read NOTICE_REPLAYED and stop.
      this.#sync.run(
        this.#db.insertInto('notices_seen').values({
          jti: input.noticeJti,
          step_id: input.stepId,
          received_at: now,
          expires_at: input.noticeExpiresAt,
        }),
      );
      if (step.status === 'completed') return 'already-completed';
      const { result } = input;
      const record = toStep(step);
      const kind = serverStepKind(record.kind);
      if (record.kind !== result.kind || !kind.matches(record as never, result)) {
        throw new PivotError('NOTICE_INVALID', 'The notice reports a result that does not match the step.');
      }
      this.#sync.run(
        this.#db
          .updateTable('steps')
          .set({ status: 'completed', ...kind.stored(result), completed_at: now })
          .where('id', '=', input.stepId),
      );
      const { event } = this.#events.appendSync(input.conversationId, completedEvent(input));
      return event;
    });
    if (outcome === 'already-completed') throw new PivotError('STEP_ALREADY_COMPLETED');
    return outcome;
  }

  async flagUnusedPivotSteps(expiredBefore: number, text: (step: StepRecord) => string): Promise<ConversationEvent[]> {
    const candidates = this.#sync.all(this.#unusedPivotSteps(expiredBefore).select('steps.id'));
    const events: ConversationEvent[] = [];
    for (const { id } of candidates) {
      const event = this.#sync.transaction((): ConversationEvent | undefined => {
        // Re-checked inside the transaction: a notice or another sweep may have come first.
        const row = this.#sync.first(this.#unusedPivotSteps(expiredBefore).selectAll('steps').where('steps.id', '=', id));
        if (!row) return undefined;
        this.#sync.run(this.#db.updateTable('steps').set({ unused_pivot_flagged_at: this.#clock() }).where('id', '=', id));
        const step = toStep(row);
        return this.#events.appendSync(step.conversationId, { kind: 'system', text: text(step) }).event;
      });
      if (event) events.push(event);
    }
    return events;
  }

  /** Open, unflagged steps with >= 1 pivot token issued and none expiring at or after `expiredBefore`. */
  #unusedPivotSteps(expiredBefore: number) {
    return this.#db
      .selectFrom('steps')
      .where('steps.status', '=', 'open')
      .where('steps.unused_pivot_flagged_at', 'is', null)
      .where((eb) => eb.exists(eb.selectFrom('step_pivot_tokens as t').select('t.jti').whereRef('t.step_id', '=', 'steps.id')))
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('step_pivot_tokens as t')
              .select('t.jti')
              .whereRef('t.step_id', '=', 'steps.id')
              .where('t.expires_at', '>=', expiredBefore),
          ),
        ),
      );
  }
}

/** The `step_completed` event for a result: only what may be shown outside the vault. */
function completedEvent(input: CompleteStepInput): NewEvent {
  const { result } = input;
  const fields = serverStepKind(result.kind).completedFields(result);
  return { kind: 'step_completed', stepId: input.stepId, stepKind: result.kind, text: input.text, ...fields };
}

function toStep(row: Selectable<StepsTable>): StepRecord {
  const state = {
    conversationId: row.conversation_id,
    requiredAcr: parseAcr(row.required_acr),
    status: row.status === 'completed' ? ('completed' as const) : ('open' as const),
    card: row.card === null ? null : (JSON.parse(row.card) as CardDisplay),
  };
  // The kind's schema rebuilds the step from its columns (an amount and a payee where it has them).
  const content = v.safeParse(StepSchema, {
    id: row.id,
    kind: row.kind,
    purpose: row.purpose,
    reference: row.reference,
    ...(row.amount_minor !== null && row.currency !== null ? { amount: { minor: row.amount_minor, currency: row.currency } } : {}),
    ...(row.payee !== null ? { payee: JSON.parse(row.payee) as unknown } : {}),
  });
  if (!content.success) throw new Error(`step ${row.id}: stored content does not match its kind`);
  return { ...content.output, ...state };
}
