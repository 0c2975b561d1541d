/**
 * The chat server's paths are declared once (protocol/chat-paths.ts): the URL builders the widget
 * and the console use produce exactly the routes the server registers.
 */
import { describe, expect, it } from 'vitest';
import {
  AGENT_EVENTS_ROUTE,
  AGENT_MESSAGES_ROUTE,
  AGENT_PIVOT_LINKS_ROUTE,
  AGENT_PREFIX,
  AGENT_STEPS_ROUTE,
  API_PREFIX,
  PIVOT_TOKEN_ROUTE,
  agentConversationPath,
  pivotTokenPath,
} from '../../protocol/chat-paths.ts';
import { createChatServer } from '../../server/app.ts';
import { removeDir, tempDir, testConfig } from '../server/helpers.ts';

describe('chat paths', () => {
  it('build the routes the server registers, with ids encoded', () => {
    expect(pivotTokenPath(':stepId')).toBe(PIVOT_TOKEN_ROUTE.replace(':stepId', encodeURIComponent(':stepId')));
    expect(pivotTokenPath('stp_a/b')).toBe('/v1/steps/stp_a%2Fb/pivot-token');
    const id = 'cnv_1';
    expect(agentConversationPath(id, 'events')).toBe(AGENT_EVENTS_ROUTE.replace(':id', id));
    expect(agentConversationPath(id, 'messages')).toBe(AGENT_MESSAGES_ROUTE.replace(':id', id));
    expect(agentConversationPath(id, 'steps')).toBe(AGENT_STEPS_ROUTE.replace(':id', id));
    expect(agentConversationPath(id, 'pivot-links')).toBe(AGENT_PIVOT_LINKS_ROUTE.replace(':id', id));
    expect(AGENT_PREFIX.startsWith(`${API_PREFIX}/`)).toBe(true);
  });

  it('are the routes the server has', async () => {
    const dir = tempDir();
    const server = await createChatServer(testConfig(dir));
    try {
      for (const [method, url] of [
        ['POST', PIVOT_TOKEN_ROUTE],
        ['GET', AGENT_EVENTS_ROUTE],
        ['POST', AGENT_MESSAGES_ROUTE],
        ['POST', AGENT_STEPS_ROUTE],
        ['POST', AGENT_PIVOT_LINKS_ROUTE],
      ] as const) {
        expect(server.app.hasRoute({ method, url }), `${method} ${url}`).toBe(true);
      }
    } finally {
      await server.close();
      removeDir(dir);
    }
  });
});
