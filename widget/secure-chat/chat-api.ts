/**
 * The customer's REST calls to the chat server (protocol/chat.ts), each response validated. Calls
 * made for a task that may be superseded take its AbortSignal: an aborted call rejects, and its
 * caller drops the outcome.
 *
 * @module
 */
import {
  NonceResponseSchema,
  PivotTokenResponseSchema,
  SessionResponseSchema,
  WsTicketResponseSchema,
  type IdentityAssertion,
  type PivotTokenResponse,
  type SessionRequest,
  type SessionResponse,
} from '../../protocol/chat.ts';
import { RequestError, requestJson, toWebSocketOrigin } from '../shared/rest.ts';
import {
  PIVOT_LINK_REDEEM_PATH,
  SESSION_NONCE_PATH,
  SESSION_STEP_UP_PATH,
  SESSIONS_PATH,
  WS_PATH,
  WS_TICKETS_PATH,
  pivotTokenPath,
} from '../../protocol/chat-paths.ts';

export function createSession(server: string, body: SessionRequest, signal?: AbortSignal): Promise<SessionResponse> {
  return requestJson(server, SESSIONS_PATH, { body, schema: SessionResponseSchema, signal });
}

/** Continues a conversation from a pivot link: the code travels in the body only. */
export function redeemPivotLink(server: string, code: string, signal?: AbortSignal): Promise<SessionResponse> {
  return requestJson(server, PIVOT_LINK_REDEEM_PATH, { body: { code }, schema: SessionResponseSchema, signal });
}

/** A single-use nonce for the bank IdP's id_token, bound to this session. */
export async function requestNonce(server: string, token: string, signal?: AbortSignal): Promise<string> {
  return (await requestJson(server, SESSION_NONCE_PATH, { method: 'POST', token, schema: NonceResponseSchema, signal })).nonce;
}

export function stepUp(server: string, token: string, assertion: IdentityAssertion, signal?: AbortSignal): Promise<SessionResponse> {
  return requestJson(server, SESSION_STEP_UP_PATH, { token, body: { assertion }, schema: SessionResponseSchema, signal });
}

export function requestPivotToken(server: string, token: string, stepId: string, signal?: AbortSignal): Promise<PivotTokenResponse> {
  return requestJson(server, pivotTokenPath(stepId), {
    method: 'POST',
    token,
    schema: PivotTokenResponseSchema,
    signal,
  });
}

/** A WebSocket URL with a fresh single-use ticket (the ticket is the only thing in the URL). */
export async function webSocketUrl(server: string, token: string): Promise<string> {
  const { ticket } = await requestJson(server, WS_TICKETS_PATH, { method: 'POST', token, schema: WsTicketResponseSchema });
  return `${toWebSocketOrigin(server)}${WS_PATH}?ticket=${encodeURIComponent(ticket)}`;
}

/** Any failure as a RequestError (status 0 when there was no answer). */
export function asRequestError(error: unknown): RequestError {
  return error instanceof RequestError ? error : new RequestError('INTERNAL_ERROR', 'Something went wrong.', 0);
}
