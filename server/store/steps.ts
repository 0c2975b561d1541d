/**
 * SQLite steps (what an agent asks of the customer), the pivot-token jtis signed for each, and
 * the vault notices that complete them.
 *
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import type { ConversationEvent } from '../../protocol/chat.ts';
import type { CardDisplay } from '../../protocol/frame.ts';
import { PivotError } from '../../protocol/errors.ts';
import type { ChatDatabase, StepsTable } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';
import type { Clock } from '../clock.ts';
import { parseAcr } from './conversations.ts';
import type { SqliteEventStore } from './events.ts';
import type { CompleteStepInput, StepRecord, StepStore } from './store.ts';

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

  async create(
    step: Omit<StepRecord, 'status' | 'card'>,
    author: { role: 'agent' | 'system'; name: string },
  ): Promise<{ step: StepRecord; event: ConversationEvent }> {
    return this.#sync.transaction(() => {
      this.#sync.run(
        this.#db.insertInto('steps').values({
          id: step.id,
          conversation_id: step.conversationId,
          kind: step.kind,
          amount_minor: step.amount.minor,
          currency: step.amount.currency,
          purpose: step.purpose,
          reference: step.reference,
          required_acr: step.requiredAcr,
          status: 'open',
          card: null,
          created_at: this.#clock(),
          completed_at: null,
          unused_pivot_flagged_at: null,
        }),
      );
      const { event } = this.#events.appendSync(step.conversationId, {
        kind: 'step',
        author,
        step: { id: step.id, kind: step.kind, amount: { ...step.amount }, purpose: step.purpose, reference: step.reference },
        requiredAcr: step.requiredAcr,
      });
      return { step: { ...step, status: 'open', card: null }, event };
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
      this.#sync.run(
        this.#db
          .updateTable('steps')
          .set({ status: 'completed', card: JSON.stringify(input.card), completed_at: now })
          .where('id', '=', input.stepId),
      );
      const { event } = this.#events.appendSync(input.conversationId, {
        kind: 'step_completed',
        stepId: input.stepId,
        card: {
          brand: input.card.brand,
          last4: input.card.last4,
          expMonth: input.card.expMonth,
          expYear: input.card.expYear,
        },
        text: input.text,
      });
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

function toStep(row: Selectable<StepsTable>): StepRecord {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    kind: 'card_payment',
    amount: { minor: row.amount_minor, currency: row.currency },
    purpose: row.purpose,
    reference: row.reference,
    requiredAcr: parseAcr(row.required_acr),
    status: row.status === 'completed' ? 'completed' : 'open',
    card: row.card === null ? null : (JSON.parse(row.card) as CardDisplay),
  };
}
