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

export interface StepsTable {
  id: string;
  conversation_id: string;
  kind: string;
  amount_minor: number;
  currency: string;
  purpose: string;
  reference: string;
  required_acr: string;
  status: string;
  /** JSON CardDisplay (opaque vault token + display data) once completed. */
  card: string | null;
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

export interface ChatDatabase {
  customers: CustomersTable;
  conversations: ConversationsTable;
  events: EventsTable;
  sessions: SessionsTable;
  ws_tickets: WsTicketsTable;
  agents: AgentsTable;
  steps: StepsTable;
  step_pivot_tokens: StepPivotTokensTable;
  notices_seen: NoticesSeenTable;
}
