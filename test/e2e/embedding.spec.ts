/**
 * What a bank web team can do to the widget without breaking it: include the script tag twice,
 * and remove and re-add the element (as SPA frameworks do on navigation). Neither may leak a
 * WebSocket or a frame, and the conversation must carry on.
 */
import { expect, test } from '@playwright/test';
import { ORIGINS } from './env.ts';

// The real bank page plus a second copy of the loader tag added as soon as the document is parsed
// (as a tag manager would). The page enforces Trusted Types, under which a tag manager needs a
// policy of its own to set a script's src; the demo page allows only the widget's policies, so
// this test lets the browser skip the page's CSP (the widget under that CSP and Trusted Types is
// tested in merchant-hardening.spec.ts and hostile-host.spec.ts). (Serving a rewritten page
// through route.fulfill would lose the page's loopback address space and Chromium's
// local-network checks would then block every script.)
test.use({ bypassCSP: true });

test('a second copy of the script and repeated re-mounts leave one socket, one element definition, and the same conversation', async ({ page }) => {
  await page.addInitScript((chat) => {
    if (location.origin.startsWith('http://bank.')) {
      document.addEventListener('DOMContentLoaded', () => {
        const extra = document.createElement('script');
        extra.src = `${chat}/widget/loader.js`;
        document.head.append(extra);
      });
    }
  }, ORIGINS.chat);

  const sockets = { opened: 0, closed: 0 };
  page.on('websocket', (ws) => {
    if (!ws.url().startsWith(ORIGINS.chat.replace('http', 'ws'))) return;
    sockets.opened += 1;
    ws.on('close', () => (sockets.closed += 1));
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  await page.goto(`${ORIGINS.bank}/`);
  expect(await page.locator('script[src$="/widget/loader.js"]').count()).toBe(2);
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  await page.getByTestId('chat-input').fill('before remount');
  await page.getByTestId('chat-send').click();
  await expect(page.getByTestId('message').filter({ hasText: 'before remount' })).toBeVisible();
  expect(await page.locator('script[src$="/widget/secure-chat.js"]').count()).toBe(1);

  for (let i = 0; i < 3; i++) {
    await page.evaluate(() => {
      const el = document.querySelector('secure-chat')!;
      const parent = el.parentNode!;
      el.remove();
      parent.appendChild(el);
    });
    await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  }
  await expect.poll(() => sockets.opened - sockets.closed).toBe(1);
  expect(sockets.opened).toBeGreaterThanOrEqual(2); // re-mounts really reconnected

  // Same conversation, nothing duplicated.
  await page.getByTestId('chat-input').fill('after remount');
  await page.getByTestId('chat-send').click();
  await expect(page.getByTestId('message').filter({ hasText: 'after remount' })).toHaveCount(1);
  await expect(page.getByTestId('message').filter({ hasText: 'before remount' })).toHaveCount(1);
  expect(await page.locator('secure-chat').count()).toBe(1);
  expect(errors.filter((e) => !/favicon/.test(e))).toEqual([]);
});
