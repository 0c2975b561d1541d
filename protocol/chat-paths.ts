/**
 * The chat server's paths, declared once: the server registers its routes with the `*_ROUTE`
 * patterns (`:param` segments), the widget and the console build URLs with the functions, and
 * the CORS policy groups them by prefix. Separate constants, not one object, so that a bundle
 * carries only the paths it calls.
 *
 * @module
 */

/** Every path of the REST and WebSocket API starts with this. */
export const API_PREFIX = '/v1';
/** Paths of the agent console's API (Origin: the chat server's own). */
export const AGENT_PREFIX = '/v1/agent';

export const SESSIONS_PATH = '/v1/sessions';
export const SESSION_NONCE_PATH = '/v1/sessions/nonce';
export const SESSION_STEP_UP_PATH = '/v1/sessions/step-up';
export const WS_TICKETS_PATH = '/v1/ws-tickets';
export const WS_PATH = '/v1/ws';
export const PIVOT_LINK_REDEEM_PATH = '/v1/pivot-links/redeem';
export const PIVOT_TOKEN_ROUTE = '/v1/steps/:stepId/pivot-token';
export const VAULT_NOTICES_PATH = '/v1/vault/notices';
export const CSP_REPORTS_PATH = '/v1/csp-reports';
export const CHAT_JWKS_PATH = '/.well-known/jwks.json';

export const AGENT_SESSIONS_PATH = '/v1/agent/sessions';
export const AGENT_CURRENT_SESSION_PATH = '/v1/agent/sessions/current';
export const AGENT_CONVERSATIONS_PATH = '/v1/agent/conversations';
export const AGENT_EVENTS_ROUTE = '/v1/agent/conversations/:id/events';
export const AGENT_MESSAGES_ROUTE = '/v1/agent/conversations/:id/messages';
export const AGENT_STEPS_ROUTE = '/v1/agent/conversations/:id/steps';
export const AGENT_PIVOT_LINKS_ROUTE = '/v1/agent/conversations/:id/pivot-links';

/** `POST /v1/steps/<stepId>/pivot-token` for a step. */
export function pivotTokenPath(stepId: string): string {
  return `/v1/steps/${encodeURIComponent(stepId)}/pivot-token`;
}

/** A conversation's path under the agent API, e.g. `agentConversationPath(id, 'steps')`. */
export function agentConversationPath(conversationId: string, leaf: 'events' | 'messages' | 'steps' | 'pivot-links'): string {
  return `${AGENT_CONVERSATIONS_PATH}/${encodeURIComponent(conversationId)}/${leaf}`;
}
