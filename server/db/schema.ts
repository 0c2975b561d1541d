/**
 * Row types of the chat database, as Kysely sees them. Times are integer milliseconds since the
 * epoch; JSON columns are TEXT. Secrets (session tokens, WS tickets) appear only as hashes.
 *
 * @module
 */

export interface CustomersTable {
  id: string;
  /** The bank's subject from a verified identity assertion; null for an anonymous customer. */
  subject: string | null;
  /** Pseudonymous id given to other services (pivot-token `sub`); never the bank's id. */
  pseudonym: string;
  display_name: string | null;
  created_at: number;
  /** When the vault said this customer added a passkey (0012); null: none known. */
  passkey_at: number | null;
  /** The phone the bank's IdP verified (E.164, 0012): where a passkey enrolment code goes by SMS. */
  phone: string | null;
}

export interface ConversationsTable {
  id: string;
  customer_id: string;
  acr: string;
  last_seq: number;
  last_text: string | null;
  created_at: number;
  updated_at: number;
  /** `web`, `messenger`, `whatsapp` or `sms` (protocol/chat.ts CHANNELS); migration 0003. */
  channel: string;
  /** How the customer last proved who they are for a step, when it was a passkey (0012). */
  verified_by: string | null;
}

export interface EventsTable {
  /** SQLite rowid: insertion order only; clients see `seq`. */
  id: number | null;
  conversation_id: string;
  seq: number;
  kind: string;
  author_role: string | null;
  client_msg_id: string | null;
  /** JSON: the event without conversationId/seq/at. */
  payload: string;
  created_at: number;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  role: string;
  acr: string;
  customer_id: string | null;
  agent_id: string | null;
  conversation_id: string | null;
  expires_at: number;
  created_at: number;
  /** Set when the holder signed out (migration 0008): the token is refused from then on. */
  revoked_at: number | null;
}

export interface WsTicketsTable {
  ticket_hash: string;
  session_id: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export interface AgentsTable {
  id: string;
  name: string;
  password_hash: string;
  created_at: number;
}

/** Failure counters of agent sign-in (migration 0008), per account name as typed or client address. */
export interface AgentLoginGuardTable {
  scope: 'account' | 'client';
  key: string;
  failures: number;
  last_failure_at: number;
  next_attempt_at: number;
  locked_at: number | null;
}

/** Durable trail of failed agent sign-ins and operator unlocks (migration 0008); never a password. */
export interface AgentLoginAuditTable {
  id: number | null;
  at: number;
  outcome: string;
  name: string;
  name_known: number;
  client: string | null;
  account_failures: number | null;
  client_failures: number | null;
}

export interface StepsTable {
  id: string;
  conversation_id: string;
  kind: string;
  /** NULL exactly for `address_change` (migration 0006). */
  amount_minor: number | null;
  currency: string | null;
  /** JSON Payee, exactly for `transfer` (migration 0006). */
  payee: string | null;
  purpose: string;
  reference: string;
  required_acr: string;
  status: string;
  /** JSON CardDisplay (opaque vault token + display data) once completed. */
  card: string | null;
  /** JSON result of other kinds once completed: AddressSummary, or `{outcome}` (migration 0006). */
  result: string | null;
  created_at: number;
  completed_at: number | null;
  /** When the step was flagged to the agent because every pivot token expired unused (migration 0002). */
  unused_pivot_flagged_at: number | null;
}

/** Every pivot token the chat signed: its `jti`, for the step it names. */
export interface StepPivotTokensTable {
  jti: string;
  step_id: string;
  session_id: string;
  issued_at: number;
  expires_at: number;
}

export interface NoticesSeenTable {
  jti: string;
  step_id: string;
  received_at: number;
  expires_at: number;
}

/** One-time pivot links (migration 0005): only the code's SHA-256 hash is stored. */
export interface PivotLinksTable {
  code_hash: string;
  conversation_id: string;
  /** The customer of the channel identity the link was sent to. */
  customer_id: string;
  channel: string;
  channel_identity_id: string;
  expires_at: number;
  used_at: number | null;
  /** Set when a newer link for the same conversation replaced this unused one. */
  revoked_at: number | null;
  created_at: number;
}

/** Nonces handed out for a bank id_token (migration 0005): hashed, single use, bound to a session. */
export interface IdTokenNoncesTable {
  nonce_hash: string;
  session_id: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** A customer's account on a public platform (migration 0004). */
export interface ChannelIdentitiesTable {
  id: string;
  /** `messenger`, `whatsapp` or `sms`. */
  channel: string;
  /** Messenger PSID, WhatsApp wa_id, or the E.164 number of an SMS sender. */
  platform_user_id: string;
  customer_id: string;
  /** The identity's open conversation (null until its first message is processed). */
  conversation_id: string | null;
  /** When its last inbound message was received (WhatsApp's 24-hour window). */
  last_inbound_at: number | null;
  created_at: number;
}

/** Every signed webhook delivery, raw bytes as received, until (and after) it is processed. */
export interface ChannelInboxTable {
  id: number | null;
  platform: string;
  /**
   * Hex SHA-256 of `body`: the same delivery retried is stored once (`unreadable:…` for a body
   * that could not be decoded; `<sha>:<id>` where migration 0011 found two rows alike).
   */
  body_sha256: string;
  /** The delivery as admitted (server/channels/redact.ts): card numbers masked, never the raw bytes; empty when unreadable. */
  body: Buffer;
  status: string;
  /** Why processing failed (never message text). */
  reason: string | null;
  received_at: number;
  processed_at: number | null;
}

/** One row per platform message turned into a conversation event: (platform, message id) is unique. */
export interface ChannelMessagesTable {
  platform: string;
  /** Messenger `mid`, WhatsApp `wamid`, Twilio `MessageSid`. */
  platform_message_id: string;
  /** The delivery it came in; null once the purge deleted that delivery (migration 0007). */
  inbox_id: number | null;
  conversation_id: string;
  seq: number;
  created_at: number;
}

/** Agent messages to relay to the platform, retried with backoff. */
export interface ChannelOutboxTable {
  id: number | null;
  conversation_id: string;
  seq: number;
  identity_id: string;
  /** The stored (masked) message text. */
  text: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  /** Last failure as an error code and HTTP status (never text or tokens). */
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

export interface ChatDatabase {
  customers: CustomersTable;
  conversations: ConversationsTable;
  events: EventsTable;
  sessions: SessionsTable;
  ws_tickets: WsTicketsTable;
  agents: AgentsTable;
  agent_login_guard: AgentLoginGuardTable;
  agent_login_audit: AgentLoginAuditTable;
  steps: StepsTable;
  step_pivot_tokens: StepPivotTokensTable;
  notices_seen: NoticesSeenTable;
  channel_identities: ChannelIdentitiesTable;
  channel_inbox: ChannelInboxTable;
  channel_messages: ChannelMessagesTable;
  channel_outbox: ChannelOutboxTable;
  pivot_links: PivotLinksTable;
  id_token_nonces: IdTokenNoncesTable;
}
