/**
 * The agent's side of the e2e stories: sign in to the console as the seeded agent.
 */
import { expect, type Page } from '@playwright/test';
import { AGENT_PASSWORD, ORIGINS } from './env.ts';

export async function agentLogin(page: Page): Promise<void> {
  await page.goto(`${ORIGINS.chat}/console`);
  await page.getByTestId('agent-name').fill('agent');
  await page.getByTestId('agent-password').fill(AGENT_PASSWORD);
  await page.getByTestId('agent-login').click();
  await expect(page.getByTestId('console-status')).toBeVisible();
}

/** Opens, in the console, the conversation whose customer wrote `marker`, once its message shows. */
export async function openConversation(page: Page, marker: string): Promise<void> {
  await page.getByTestId('conversation-item').filter({ hasText: marker }).first().click();
  await expect(page.getByTestId('message').filter({ hasText: marker }).first()).toBeVisible();
}
