/**
 * The console's Sign out ends the session on the chat server, not only in the tab: a copy of the
 * token taken before it (as from a shared screen or a stolen sessionStorage) is refused after it.
 */
import { expect, test } from '@playwright/test';
import { agentLogin } from './agent.ts';
import { INTERNAL, ORIGINS } from './env.ts';

test('Sign out revokes the agent token on the server: a copy of it is refused with SESSION_REVOKED', async ({ page }) => {
  await agentLogin(page);
  const stored = await page.evaluate(() => sessionStorage.getItem('spc:agent'));
  const token = (JSON.parse(stored ?? '{}') as { session?: string }).session;
  expect(token).toBeTruthy();
  const list = () =>
    fetch(`${INTERNAL.chat}/v1/agent/conversations`, { headers: { origin: ORIGINS.chat, authorization: `Bearer ${token}` } });
  expect((await list()).status).toBe(200);

  await page.getByTestId('agent-logout').click();
  await expect(page.getByTestId('agent-login')).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem('spc:agent'))).toBeNull();
  await expect(page.getByTestId('console-error')).toHaveCount(0);

  const after = await list();
  expect(after.status).toBe(401);
  expect(((await after.json()) as { error: { code: string } }).error.code).toBe('SESSION_REVOKED');
});
