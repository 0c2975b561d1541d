/**
 * Waiting for the chat server to hold what one party just sent, before another party looks for
 * it. The widget shows a customer's message at once, as pending, and a public channel's webhook
 * is stored before its conversation is: looking too early would make a test pass or fail by how
 * fast the machine is.
 */
import { expect, type Locator, type Page } from '@playwright/test';
import { AGENT_PASSWORD, INTERNAL, ORIGINS } from './env.ts';

/** How long the chat server may take to store a message on a loaded machine. */
export const STORED_WITHIN_MS = 30_000;

/** The customer's message `text` once the chat server has acknowledged it (no longer pending). */
export function storedMessage(page: Page, text: string): Locator {
  return page.locator('[data-testid="message"][data-pending="false"]').filter({ hasText: text });
}

/** Headers of an agent API session (signed in as the seeded agent). */
export async function agentHeaders(): Promise<Record<string, string>> {
  const headers = { 'content-type': 'application/json', origin: ORIGINS.chat };
  const login = await fetch(`${INTERNAL.chat}/v1/agent/sessions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'agent', password: AGENT_PASSWORD }),
  });
  expect(login.status).toBe(201);
  const { session } = (await login.json()) as { session: string };
  return { ...headers, authorization: `Bearer ${session}` };
}

/** Waits until the chat server lists a conversation whose last message contains `marker`; its id. */
export async function storedConversation(marker: string, headers?: Record<string, string>): Promise<string> {
  const auth = headers ?? (await agentHeaders());
  let id: string | undefined;
  await expect
    .poll(
      async () => {
        const res = await fetch(`${INTERNAL.chat}/v1/agent/conversations`, { headers: auth });
        const { conversations } = (await res.json()) as { conversations: Array<{ id: string; lastText: string | null }> };
        id = conversations.find((c) => c.lastText?.includes(marker))?.id;
        return id;
      },
      { message: `a conversation with "${marker}"`, timeout: STORED_WITHIN_MS },
    )
    .toBeDefined();
  return id!;
}
