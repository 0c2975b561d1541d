/**
 * SQLite event log: append with per-conversation `seq` and idempotency by
 * (conversation, author role, clientMsgId), and ordered reads for replay.
 *
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import type { ConversationEvent } from '../../protocol/chat.ts';
import { STEP_DEFINITIONS, type Step } from '../../protocol/steps/index.ts';
import { formatAmount } from '../../protocol/values.ts';
import type { ChatDatabase, EventsTable } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';
import type { Clock } from '../lib/clock.ts';
import { isoTime } from '../lib/clock.ts';
import type { AppendResult, EventStore, NewEvent } from './store.ts';

/** Longest `lastText` kept on a conversation for the agents' list. */
export const SUMMARY_TEXT_MAX_CHARS = 140;

type EventRow = Selectable<EventsTable>;

/**
 * Runs inside the append's transaction for every event it creates (the channel relay queues agent
 * messages there, so the message and its outbox row are stored together or not at all).
 */
export type AppendedSync = (event: ConversationEvent) => void;

export class SqliteEventStore implements EventStore {
  readonly #sync: SyncExecutor;
  readonly #clock: Clock;
  readonly #appended: AppendedSync | undefined;
  readonly #q;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor, clock: Clock, appended?: AppendedSync) {
    this.#sync = sync;
    this.#clock = clock;
    this.#appended = appended;
    this.#q = {
      existing: sync.prepare(['cnv', 'role', 'id'], (p) =>
        db
          .selectFrom('events')
          .selectAll()
          .where('conversation_id', '=', p.cnv)
          .where('author_role', '=', p.role)
          .where('client_msg_id', '=', p.id),
      ),
      maxSeq: sync.prepare(['cnv'], (p) =>
        db
          .selectFrom('events')
          .select((eb) => eb.fn.max<number | null>('seq').as('max'))
          .where('conversation_id', '=', p.cnv),
      ),
      insert: sync.prepare(['cnv', 'seq', 'kind', 'role', 'id', 'payload', 'at'], (p) =>
        db.insertInto('events').values({
          conversation_id: p.cnv,
          seq: p.seq,
          kind: p.kind,
          author_role: p.role,
          client_msg_id: p.id,
          payload: p.payload,
          created_at: p.at,
        }),
      ),
      touch: sync.prepare(['cnv', 'seq', 'text', 'at'], (p) =>
        db.updateTable('conversations').set({ last_seq: p.seq, last_text: p.text, updated_at: p.at }).where('id', '=', p.cnv),
      ),
      list: sync.prepare(['cnv', 'after', 'limit'], (p) =>
        db
          .selectFrom('events')
          .selectAll()
          .where('conversation_id', '=', p.cnv)
          .where('seq', '>', p.after)
          .orderBy('seq', 'asc')
          .limit(p.limit),
      ),
    };
  }

  async append(conversationId: string, event: NewEvent): Promise<AppendResult> {
    return this.#sync.transaction(() => this.appendSync(conversationId, event));
  }

  async list(conversationId: string, after: number, limit: number): Promise<ConversationEvent[]> {
    return this.#q.list.all({ cnv: conversationId, after, limit }).map(rowToEvent);
  }

  /**
   * Appends one event. MUST run inside `sync.transaction`: the max(seq) read and the insert
   * are then one atomic unit (UNIQUE(conversation_id, seq) is the backstop). Other stores call
   * it inside their own transactions (a step and its event, a notice and its event).
   */
  appendSync(conversationId: string, event: NewEvent): AppendResult {
    const role = 'author' in event ? event.author.role : null;
    const clientMsgId = event.kind === 'message' ? event.clientMsgId : null;
    if (role !== null && clientMsgId !== null) {
      const existing = this.#q.existing.first({ cnv: conversationId, role, id: clientMsgId });
      if (existing) return { event: rowToEvent(existing), created: false };
    }
    const seq = (this.#q.maxSeq.first({ cnv: conversationId })?.max ?? 0) + 1;
    const at = this.#clock();
    const { kind, ...payload } = event;
    this.#q.insert.run({ cnv: conversationId, seq, kind, role, id: clientMsgId, payload: JSON.stringify(payload), at });
    this.#q.touch.run({ cnv: conversationId, seq, text: summaryText(event), at });
    const stored = { ...event, conversationId, seq, at: isoTime(at) } as ConversationEvent;
    this.#appended?.(stored);
    return { event: stored, created: true };
  }
}

export function rowToEvent(row: EventRow): ConversationEvent {
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  return {
    ...payload,
    kind: row.kind,
    conversationId: row.conversation_id,
    seq: row.seq,
    at: isoTime(row.created_at),
  } as ConversationEvent;
}

/** "Payment requested: €12.50 for …", "Address change requested: …", and the like: the step kind's list line. */
function stepRequestedText(step: Step): string {
  return STEP_DEFINITIONS[step.kind].agent.listLine(step as never, (amount) => formatAmount(amount));
}

/** One line describing the event for the agents' conversation list. */
export function summaryText(event: NewEvent): string {
  let text: string;
  switch (event.kind) {
    case 'message':
    case 'system':
    case 'step_completed':
      text = event.text;
      break;
    case 'step':
      text = stepRequestedText(event.step);
      break;
  }
  return text.length > SUMMARY_TEXT_MAX_CHARS ? `${text.slice(0, SUMMARY_TEXT_MAX_CHARS - 1)}…` : text;
}
