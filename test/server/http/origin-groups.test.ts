/**
 * Every route of the chat API belongs to an Origin group (server/http/cors.ts): a foreign page
 * is refused on each of them before the handler runs, and none answers it with a CORS header.
 */
import { describe, expect } from 'vitest';
import {
  AGENT_CONVERSATIONS_PATH,
  AGENT_CURRENT_SESSION_PATH,
  AGENT_SESSIONS_PATH,
  PIVOT_LINK_REDEEM_PATH,
  SESSION_NONCE_PATH,
  SESSION_STEP_UP_PATH,
  SESSIONS_PATH,
  VAULT_NOTICES_PATH,
  WS_TICKETS_PATH,
  agentConversationPath,
  pivotTokenPath,
} from '../../../protocol/chat-paths.ts';
import { EVIL, call, chatTest as it } from '../helpers.ts';

describe('Origin groups', () => {
  it('refuse a foreign Origin with 403 ORIGIN_NOT_ALLOWED on every API route, and answer no CORS header', async ({ run }) => {
    const routes: Array<['GET' | 'POST', string]> = [
      ['POST', SESSIONS_PATH],
      ['POST', SESSION_NONCE_PATH],
      ['POST', SESSION_STEP_UP_PATH],
      ['POST', WS_TICKETS_PATH],
      ['POST', PIVOT_LINK_REDEEM_PATH],
      ['POST', pivotTokenPath('stp_0123456789abcdefgh')],
      ['POST', AGENT_SESSIONS_PATH],
      ['GET', AGENT_CONVERSATIONS_PATH],
      ['GET', agentConversationPath('cnv_0123456789abcdef', 'events')],
      ['POST', agentConversationPath('cnv_0123456789abcdef', 'steps')],
      ['POST', agentConversationPath('cnv_0123456789abcdef', 'pivot-links')],
      ['POST', VAULT_NOTICES_PATH],
    ];
    for (const [method, url] of routes) {
      const res = await call(run, method, url, { origin: EVIL, body: method === 'POST' ? {} : undefined });
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body, `${method} ${url}`).toMatchObject({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
      expect(res.headers['access-control-allow-origin'], `${method} ${url}`).toBeUndefined();
    }
    // The agents' sign-out (DELETE) is in the agents' group too.
    const out = await run.server.app.inject({ method: 'DELETE', url: AGENT_CURRENT_SESSION_PATH, headers: { origin: EVIL } });
    expect(out.statusCode).toBe(403);
  });
});
