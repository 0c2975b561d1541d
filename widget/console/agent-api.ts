/**
 * The agent console's REST calls (protocol/chat.ts), each response validated, and where the
 * agent's session token is kept (sessionStorage of the console's own origin).
 *
 * @module
 */
import {
  AgentLoginResponseSchema,
  ConversationListSchema,
  EventPageSchema,
  PivotLinkCreatedSchema,
  StepCreatedSchema,
  WsTicketResponseSchema,
  type ConversationEvent,
  type ConversationList,
  type PivotLinkCreated,
  type StepRequest,
} from '../../protocol/chat.ts';
import {
  AGENT_CONVERSATIONS_PATH,
  AGENT_CURRENT_SESSION_PATH,
  AGENT_SESSIONS_PATH,
  WS_PATH,
  WS_TICKETS_PATH,
  agentConversationPath,
} from '../../protocol/chat-paths.ts';
import { requestJson, toWebSocketOrigin } from '../shared/rest.ts';

export interface AgentSession {
  readonly session: string;
  readonly name: string;
  readonly expiresAt: string;
}

const STORAGE_KEY = 'spc:agent';
/** Safety stop for paging through one conversation's history. */
export const HISTORY_MAX_PAGES = 100;

export function login(server: string, name: string, password: string): Promise<AgentSession> {
  return requestJson(server, AGENT_SESSIONS_PATH, { body: { name, password }, schema: AgentLoginResponseSchema });
}

/** One page of the conversation list: the first, or the one after `cursor` (a page's `nextCursor`). */
export function listConversations(server: string, token: string, cursor: string | null = null): Promise<ConversationList> {
  const query = cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`;
  return requestJson(server, `${AGENT_CONVERSATIONS_PATH}${query}`, { token, schema: ConversationListSchema });
}

/** Every event of a conversation after `after`, following pages until the server's lastSeq. */
export async function loadHistory(server: string, token: string, conversationId: string, after = 0): Promise<ConversationEvent[]> {
  const events: ConversationEvent[] = [];
  for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
    const path = `${agentConversationPath(conversationId, 'events')}?after=${after}`;
    const result = await requestJson(server, path, { token, schema: EventPageSchema });
    events.push(...result.events);
    const last = result.events.at(-1)?.seq ?? after;
    if (!result.events.length || last >= result.lastSeq) break;
    after = last;
  }
  return events;
}

export function requestStep(server: string, token: string, conversationId: string, body: StepRequest) {
  return requestJson(server, agentConversationPath(conversationId, 'steps'), {
    token,
    body,
    schema: StepCreatedSchema,
  });
}

/**
 * Sends the customer a secure link on the conversation's public channel (no body). The answer
 * names the channel and the expiry; the link's code never reaches the console.
 */
export function sendSecureLink(server: string, token: string, conversationId: string): Promise<PivotLinkCreated> {
  return requestJson(server, agentConversationPath(conversationId, 'pivot-links'), {
    method: 'POST',
    token,
    schema: PivotLinkCreatedSchema,
  });
}

/**
 * Signs the session out on the server (DELETE /v1/agent/sessions/current), so that a copy of the
 * token stops working too, and its sockets close. True when the server no longer accepts the
 * token (also if it had already ended: 401); false when the server could not be told.
 */
export async function signOut(server: string, token: string): Promise<boolean> {
  try {
    const response = await fetch(`${server}${AGENT_CURRENT_SESSION_PATH}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
      credentials: 'omit',
      cache: 'no-store',
      // Finishes even if the agent closes the tab right after pressing Sign out.
      keepalive: true,
    });
    return response.ok || response.status === 401;
  } catch {
    return false;
  }
}

export async function webSocketUrl(server: string, token: string): Promise<string> {
  const { ticket } = await requestJson(server, WS_TICKETS_PATH, { method: 'POST', token, schema: WsTicketResponseSchema });
  return `${toWebSocketOrigin(server)}${WS_PATH}?ticket=${encodeURIComponent(ticket)}`;
}

export function loadAgentSession(): AgentSession | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as AgentSession | null;
    if (value && typeof value.session === 'string' && typeof value.name === 'string' && !(Date.parse(value.expiresAt) <= Date.now())) {
      return value;
    }
  } catch {
    // unreadable: log in again
  }
  return null;
}

export function saveAgentSession(session: AgentSession | null): void {
  try {
    if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: the login lasts for this page only
  }
}
