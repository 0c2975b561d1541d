/**
 * The agent every chat server starts with, `agent`, and the rule that keeps the published demo
 * password inside the demo: outside demo mode the server refuses to start without a real
 * AGENT_PASSWORD, and a seeded agent still holding the demo password (a database first started
 * as the demo) takes AGENT_PASSWORD instead, so `agent` / `demo` never signs in outside it.
 *
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';
import { assertAgentPasswordAllowed, DEMO_AGENT_PASSWORD, type ChatConfig } from '../config.ts';
import type { ChatStore } from '../store/store.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

/** The agent seeded on first start, with AGENT_PASSWORD. */
export const SEED_AGENT_NAME = 'agent';

/**
 * Creates `agent` with AGENT_PASSWORD unless it exists; outside demo mode replaces a demo
 * password left from the demo. Throws AGENT_PASSWORD_REQUIRED before touching anything when the
 * configuration may not start.
 */
export async function seedAgent(store: ChatStore, config: Pick<ChatConfig, 'agentPassword' | 'demoMode'>, log: FastifyBaseLogger): Promise<void> {
  assertAgentPasswordAllowed(config);
  const existing = await store.agents.findByName(SEED_AGENT_NAME);
  if (!existing) {
    if (await store.agents.createIfMissing(SEED_AGENT_NAME, await hashPassword(config.agentPassword))) {
      log.info({ agent: SEED_AGENT_NAME }, 'seeded agent');
    }
    return;
  }
  if (!config.demoMode && (await verifyPassword(DEMO_AGENT_PASSWORD, existing.passwordHash))) {
    await store.agents.setPasswordHash(existing.id, await hashPassword(config.agentPassword));
    log.warn({ agent: SEED_AGENT_NAME }, 'the seeded agent held the demo password outside demo mode; it now has AGENT_PASSWORD');
  }
}
