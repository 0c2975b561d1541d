/**
 * The merchant hardening kit in a real browser: the demo bank page pins the loader with SRI
 * (and the widget still works under its strict CSP), a tampered loader is refused, and a CSP
 * violation on the page reaches the chat server's report endpoint as one log line without the
 * page's query string or the script sample.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { INTERNAL, LOG_DIR, ORIGINS } from './env.ts';

test('the loader is pinned by SRI with the hash the chat server publishes, and the widget works under the strict CSP', async ({ page }) => {
  const integrity = (await (await fetch(`${INTERNAL.chat}/widget/integrity.json`)).json()) as Record<string, string>;
  expect(integrity['loader.js']).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  await page.goto(`${ORIGINS.bank}/`);
  const tag = page.locator('script[src$="/widget/loader.js"]');
  await expect(tag).toHaveAttribute('integrity', integrity['loader.js']!);
  await expect(tag).toHaveAttribute('crossorigin', 'anonymous');
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  expect(errors).toEqual([]);
});

test('a loader that does not match its integrity hash is not run', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  // Node cannot resolve *.localhost: fetch the real loader over the internal URL, then serve it
  // to the page with one line appended (as a compromised CDN or server would).
  const real = await (await fetch(`${INTERNAL.chat}/widget/loader.js`)).text();
  await page.route(`${ORIGINS.chat}/widget/loader.js`, (route) =>
    route.fulfill({
      status: 200,
      headers: { 'content-type': 'text/javascript', 'access-control-allow-origin': ORIGINS.bank },
      body: `${real}\n;window.tampered = true;`,
    }),
  );
  await page.goto(`${ORIGINS.bank}/`);
  await expect.poll(() => errors.join('\n')).toMatch(/integrity/i);
  expect(await page.evaluate(() => 'tampered' in window)).toBe(false);
  expect(await page.evaluate(() => customElements.get('secure-chat') === undefined)).toBe(true);
});

test('a CSP violation on the bank page is reported to the chat server and logged without query or sample', async ({ page }) => {
  await page.goto(`${ORIGINS.bank}/?campaign=SECRETQUERY#frag`);
  // An injected inline style (an inline script would be stopped earlier, by Trusted Types, before
  // CSP's script-src is consulted): blocked by style-src, reported, and its sample never logged.
  await page.evaluate(() => {
    const style = document.createElement('style');
    style.textContent = 'body { --injected: "SAMPLE-4111"; outline: 3px solid red; }';
    document.head.append(style);
  });
  expect(await page.evaluate(() => getComputedStyle(document.body).outlineStyle)).not.toBe('solid');

  const log = join(LOG_DIR, 'chat.log');
  const violation = async () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"csp violation"'))
      .map((l) => (JSON.parse(l) as { cspViolation: Record<string, unknown> }).cspViolation)
      .find((v) => v['document'] === `${ORIGINS.bank}/` && v['blocked'] === 'inline');
  await expect.poll(violation, { timeout: 15_000 }).toMatchObject({ directive: 'style-src-elem', disposition: 'enforce' });
  const text = readFileSync(log, 'utf8');
  expect(text).not.toContain('SECRETQUERY');
  expect(text).not.toContain('SAMPLE-4111');
});
