/**
 * The chat store contract. Everything the server persists goes through this interface, so a
 * PostgreSQL implementation (Kysely's PostgresDialect, `DATABASE_URL`) can replace the SQLite one
 * without touching routes or sockets. Methods are async for that reason even though the SQLite
 * implementation completes synchronously.
 *
 * Invariants every implementation keeps:
 * - `appendEvent` assigns `seq = max(seq) + 1` of the conversation in the same transaction that
 *   inserts the event; seqs are unique and gap-free per conversation.
 * - `appendEvent` with an `(authorRole, clientMsgId)` already stored in that conversation stores
 *   nothing and returns the existing event with `created: false`.
 * - Bearer secrets are passed in and stored only as hashes.
 * - Appending an agent `message` to a conversation with a public-channel identity queues it in
 *   the channel outbox IN THE SAME TRANSACTION when the relay rule says so (replies go where the
 *   customer last was, server/store/channels.ts): a crash never keeps one without the other.
 *
 * @module
 */
import type { Channel, ConversationEvent, ConversationList, ConversationSummary } from '../../protocol/chat.ts';
import type { CardDisplay } from '../../protocol/frame.ts';
import type { Acr, Step } from '../../protocol/pivot-token.ts';
import type { StepResult } from '../steps/index.ts';
import type { AgentLoginStore } from './agent-logins.ts';
import type { ChannelStore } from './channels.ts';

/** What a vault notice reports, per step kind (server/steps/). */
export type { StepResult };

export type SessionRole = 'customer' | 'agent';
export type AuthorRole = 'customer' | 'agent' | 'system';

export interface CustomerRecord {
  readonly id: string;
  readonly subject: string | null;
  readonly pseudonym: string;
  readonly displayName: string | null;
  /** The vault said this customer holds a passkey. */
  readonly hasPasskey: boolean;
  /** The phone the bank's IdP verified (E.164), or null. */
  readonly phone: string | null;
}

export interface ConversationRecord {
  readonly id: string;
  readonly customerId: string;
  readonly acr: Acr;
  /** Where it started (`web` unless a public channel created it). */
  readonly channel: Channel;
  readonly lastSeq: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface StartedConversation {
  readonly conversation: ConversationRecord;
  /** False when the session already had it (another socket of the session started it). */
  readonly created: boolean;
}

export interface SessionRecord {
  readonly id: string;
  readonly role: SessionRole;
  readonly acr: Acr;
  readonly customerId: string | null;
  readonly agentId: string | null;
  readonly conversationId: string | null;
  readonly expiresAt: number;
  /** When its holder signed out; a revoked session is refused like an unknown one. */
  readonly revokedAt: number | null;
}

export interface AgentRecord {
  readonly id: string;
  readonly name: string;
  readonly passwordHash: string;
}

/** What a step asks (its kind's fields, as in the pivot token) and where it stands. */
export type StepRecord = Step & {
  readonly conversationId: string;
  readonly requiredAcr: Acr;
  readonly status: 'open' | 'completed';
  /** `card_payment` once completed: the card as shown outside the vault. */
  readonly card: CardDisplay | null;
};
/** A step as created (before any completion). */
export type NewStep = Step & { readonly conversationId: string; readonly requiredAcr: Acr };

/** An event as the caller supplies it; the store adds conversationId, seq and at. */
export type NewEvent = DistributiveOmit<ConversationEvent, 'conversationId' | 'seq' | 'at'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface AppendResult {
  readonly event: ConversationEvent;
  /** False when the (role, clientMsgId) was already stored: `event` is the earlier one. */
  readonly created: boolean;
}

export interface CustomerStore {
  get(id: string): Promise<CustomerRecord | undefined>;
  findBySubject(subject: string): Promise<CustomerRecord | undefined>;
  create(input: { subject: string | null; displayName: string | null }): Promise<CustomerRecord>;
  /** Gives an anonymous customer the bank subject it has just proven. */
  attachSubject(customerId: string, subject: string): Promise<void>;
  /** Records that the customer holds a passkey (the vault's `passkey_enrolled` notice). */
  markPasskey(customerId: string): Promise<void>;
  /** Records the phone the bank's IdP verified for the customer. */
  setPhone(customerId: string, phone: string): Promise<void>;
}

export interface ConversationStore {
  create(customerId: string, acr: Acr, channel?: Channel): Promise<ConversationRecord>;
  get(id: string): Promise<ConversationRecord | undefined>;
  latestForCustomer(customerId: string): Promise<ConversationRecord | undefined>;
  /** Whether the customer wrote in it or a step was asked in it (an agent's greeting alone does not count). */
  hasCustomerActivity(id: string): Promise<boolean>;
  /** Raises (never lowers) the conversation's assurance level; moves it to `customerId` if given. */
  raiseAcr(id: string, acr: Acr, customerId?: string): Promise<void>;
  /** The customer answered a step of it with their passkey (the agent sees "Verified by passkey"). */
  markVerifiedByPasskey(id: string): Promise<void>;
  /**
   * Creates, once, the conversation of a customer session that has none (its first message):
   * the session's customer and acr, channel `web`, bound to the session in the same transaction.
   * `id` names a new one (a caller may follow it before it exists). Returns the session's
   * conversation and whether this call created it; undefined for an agent or unknown session.
   */
  startForSession(sessionId: string, id?: string): Promise<StartedConversation | undefined>;
  /** The summary agents see; undefined while the conversation has no customer message (web). */
  summary(id: string): Promise<ConversationSummary | undefined>;
  /**
   * One page of what agents see, newest activity first, ties by id; `cursor` is a page's
   * `nextCursor` (CURSOR_INVALID otherwise).
   */
  listPage(cursor?: string, limit?: number): Promise<ConversationList>;
}

export interface EventStore {
  append(conversationId: string, event: NewEvent): Promise<AppendResult>;
  /** Events with seq > after, in seq order, at most `limit`. */
  list(conversationId: string, after: number, limit: number): Promise<ConversationEvent[]>;
}

export interface SessionStore {
  create(input: {
    tokenHash: string;
    role: SessionRole;
    acr: Acr;
    customerId: string | null;
    agentId: string | null;
    conversationId: string | null;
    expiresAt: number;
  }): Promise<SessionRecord>;
  findByTokenHash(tokenHash: string): Promise<SessionRecord | undefined>;
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Raises the session to `acr`, possibly re-binding it to another customer record and (a signed-in
   * customer who started anonymously, see routes/sessions.ts) to another conversation.
   */
  raise(id: string, acr: Acr, customerId: string, conversationId?: string): Promise<void>;
  /** Marks the session signed out at `now` and deletes its tickets; false if it already was. */
  revoke(id: string, now: number): Promise<boolean>;
  createTicket(input: { ticketHash: string; sessionId: string; expiresAt: number }): Promise<void>;
  /** Tickets of the session neither used nor expired at `now`. */
  countOpenTickets(sessionId: string, now: number): Promise<number>;
  /** Marks the ticket used and returns its session id, exactly once, if not expired at `now`. */
  consumeTicket(ticketHash: string, now: number): Promise<string | undefined>;
  /** Deletes tickets and sessions expired before `before`. */
  purgeExpired(before: number): Promise<void>;
}

export interface AgentStore {
  findByName(name: string): Promise<AgentRecord | undefined>;
  get(id: string): Promise<AgentRecord | undefined>;
  /** Creates the agent unless one with that name exists; returns whether it was created. */
  createIfMissing(name: string, passwordHash: string): Promise<boolean>;
  /** Replaces an agent's password hash (the seeded agent leaving the demo password behind). */
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
  /** Every agent, by name (the operator's list). */
  list(): Promise<AgentRecord[]>;
}

export interface CompleteStepInput {
  readonly noticeJti: string;
  readonly noticeExpiresAt: number;
  readonly conversationId: string;
  readonly stepId: string;
  readonly pivotJti: string;
  /** Must match the step's kind (and, for a transfer, its amount and payee): else NOTICE_INVALID. */
  readonly result: StepResult;
  readonly text: string;
}

export interface StepStore {
  /** Inserts the step and appends its `step` event in one transaction. */
  create(step: NewStep, author: { role: 'agent' | 'system'; name: string }): Promise<{
    step: StepRecord;
    event: ConversationEvent;
  }>;
  get(id: string): Promise<StepRecord | undefined>;
  recordPivotToken(input: { jti: string; stepId: string; sessionId: string; issuedAt: number; expiresAt: number }): Promise<void>;
  countPivotTokens(stepId: string): Promise<number>;
  /**
   * In one transaction: records the notice jti (NOTICE_REPLAYED if seen), checks that the step
   * belongs to the conversation, that `pivotJti` was issued for it and that the result is of its
   * kind (a transfer's amount and payee equal to the step's) (NOTICE_INVALID), that it
   * is open (STEP_ALREADY_COMPLETED: the notice jti is still recorded, so retries read
   * NOTICE_REPLAYED), completes it and appends the `step_completed` event.
   * Throws PivotError; on any other throw nothing is stored.
   */
  completeFromNotice(input: CompleteStepInput): Promise<ConversationEvent>;
  /**
   * Records a passkey notice of a step's conversation once: NOTICE_REPLAYED on a second,
   * NOTICE_INVALID unless this server issued the pivot token for that step of that conversation.
   * Returns the session the token was issued to.
   */
  acceptPasskeyNotice(input: Omit<CompleteStepInput, 'result' | 'text'>): Promise<{ readonly sessionId: string }>;
  /** The session a pivot token was issued to, if this server issued it. */
  pivotTokenSession(pivotJti: string): Promise<string | undefined>;
  /**
   * Flags, each in one transaction, every step that is still open, was issued at least one pivot
   * token, has every token expired before `expiredBefore`, and was not flagged yet: marks it
   * flagged and appends a `system` event with `text(step)`. Returns the appended events (each
   * step is flagged at most once, also under concurrent sweeps). Completion is unaffected.
   */
  flagUnusedPivotSteps(expiredBefore: number, text: (step: StepRecord) => string): Promise<ConversationEvent[]>;
}

export interface PivotLinkRecord {
  readonly codeHash: string;
  readonly conversationId: string;
  readonly customerId: string;
  readonly channel: Channel;
  readonly channelIdentityId: string;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly revokedAt: number | null;
}

export interface PivotLinkStore {
  /** Stores a link and, in the same transaction, revokes the conversation's earlier unused links. */
  create(link: Omit<PivotLinkRecord, 'usedAt' | 'revokedAt'>): Promise<void>;
  find(codeHash: string): Promise<PivotLinkRecord | undefined>;
  /** Marks the link used by one conditional UPDATE: true for exactly one caller, if valid at `now`. */
  consume(codeHash: string, now: number): Promise<boolean>;
  /** Removes a link that never reached the customer. */
  delete(codeHash: string): Promise<void>;
  /** Deletes links (used, revoked or not) that expired before `before`; returns how many. */
  purgeExpired(before: number): Promise<number>;
}

export interface NonceStore {
  create(input: { nonceHash: string; sessionId: string; expiresAt: number }): Promise<void>;
  /** Marks the nonce used exactly once: true when it belonged to `sessionId`, was unused and unexpired. */
  consume(nonceHash: string, sessionId: string, now: number): Promise<boolean>;
  /** Deletes nonces used or expired before `before`; returns how many. */
  purgeExpired(before: number): Promise<number>;
}

export interface ChatStore {
  readonly customers: CustomerStore;
  readonly conversations: ConversationStore;
  readonly events: EventStore;
  readonly sessions: SessionStore;
  readonly agents: AgentStore;
  /** Agent sign-in failure counters and audit trail (server/store/agent-logins.ts). */
  readonly agentLogins: AgentLoginStore;
  readonly steps: StepStore;
  readonly pivotLinks: PivotLinkStore;
  readonly nonces: NonceStore;
  /** Public channels: identities, webhook inbox, outbound relay (server/store/channels.ts). */
  readonly channels: ChannelStore;
  close(): Promise<void>;
}
