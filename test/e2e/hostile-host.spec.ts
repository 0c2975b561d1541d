/**
 * The host page is untrusted from the vault's side. A script on the bank's page (here injected
 * before any other script runs) tries to read the frame's fields, posts a forged `connect`, and
 * steals the widget's Comlink port to send GET/SET/CONSTRUCT messages. Each attempt fails, and
 * the payment still works.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { AGENT_PASSWORD, INTERNAL, ORIGINS } from './env.ts';

const PAN = '4242424242424242';
/** Unique per run: a signed-in customer gets their earlier conversation back. */
const RUN = Math.random().toString(36).slice(2, 10);
const MARKER = `hostile-page-test-${RUN}`;

/** Runs in the bank page before its own scripts: captures every MessagePort the page posts on. */
function hostileInit(bankOrigin: string): void {
  if (location.origin !== bankOrigin) return; // addInitScript also runs inside the vault frame
  const w = window as unknown as { __stolenPorts: MessagePort[]; __replies: unknown[] };
  w.__stolenPorts = [];
  w.__replies = [];
  const original = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (this: MessagePort, ...args: unknown[]) {
    if (!w.__stolenPorts.includes(this)) {
      w.__stolenPorts.push(this);
      this.addEventListener('message', (ev: MessageEvent) => {
        const data = ev.data as { id?: string } | null;
        if (data && typeof data.id === 'string' && data.id.startsWith('evil-')) w.__replies.push(data);
      });
    }
    return (original as (...a: unknown[]) => void).apply(this, args);
  } as typeof MessagePort.prototype.postMessage;
}

async function agentRequestsPayment(): Promise<void> {
  const headers = { 'content-type': 'application/json', origin: ORIGINS.chat };
  const login = await fetch(`${INTERNAL.chat}/v1/agent/sessions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'agent', password: AGENT_PASSWORD }),
  });
  expect(login.status).toBe(201);
  const { session } = (await login.json()) as { session: string };
  const auth = { ...headers, authorization: `Bearer ${session}` };
  const list = (await (await fetch(`${INTERNAL.chat}/v1/agent/conversations`, { headers: auth })).json()) as {
    conversations: Array<{ id: string; lastText: string | null }>;
  };
  const conv = list.conversations.find((c) => c.lastText?.includes(MARKER));
  expect(conv).toBeTruthy();
  const step = await fetch(`${INTERNAL.chat}/v1/agent/conversations/${conv!.id}/steps`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ kind: 'card_payment', amount: { minor: 4200, currency: 'EUR' }, purpose: 'Hostile page test', reference: 'HOST-1' }),
  });
  expect(step.status).toBe(201);
}

async function signedInCustomer(page: Page): Promise<void> {
  await page.goto(`${ORIGINS.bank}/`);
  await page.getByTestId('bank-sign-in').click();
  await page.getByTestId('bank-username').fill(`hostile-${RUN}`);
  await page.getByTestId('bank-password').fill('demo');
  await page.getByTestId('bank-sign-in-submit').click();
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  await page.getByTestId('chat-input').fill(MARKER);
  await page.getByTestId('chat-send').click();
  await expect(page.getByTestId('message').filter({ hasText: MARKER })).toBeVisible();
}

test('a hostile host page can neither read, forge nor drive the vault frame, and the payment still works', async ({ page }) => {
  await page.addInitScript(hostileInit, ORIGINS.bank);
  await signedInCustomer(page);
  await agentRequestsPayment();

  const stepCard = page.getByTestId('step-card').last();
  await expect(stepCard).toContainText('42.00');
  await expect(stepCard).toHaveAttribute('data-ready', 'true');
  const frame = page.frameLocator('[data-testid="vault-frame"]');
  await expect(frame.getByLabel('Card number')).toBeVisible();
  await frame.getByLabel('Card number').fill(PAN);

  const attempts = await page.evaluate(async (vaultOrigin) => {
    const w = window as unknown as { __stolenPorts: MessagePort[]; __replies: unknown[] };
    const results: Record<string, unknown> = {};
    const host = document.querySelector('secure-chat')!;
    const iframe = (host.shadowRoot ?? host).querySelector('iframe[data-testid="vault-frame"]') as HTMLIFrameElement;
    // 1. Read the fields.
    try {
      results.contentDocument = iframe.contentDocument === null ? 'null' : 'readable';
    } catch {
      results.contentDocument = 'threw';
    }
    try {
      const doc = (iframe.contentWindow as Window).document;
      results.windowDocument = doc ? 'readable' : 'null';
    } catch {
      results.windowDocument = 'threw';
    }
    // 2. A forged connect with a port of our own: the frame already has its one connection.
    const forged = new MessageChannel();
    const forgedReplies: unknown[] = [];
    forged.port1.onmessage = (ev) => forgedReplies.push(ev.data);
    iframe.contentWindow!.postMessage({ type: 'spc:connect', version: 1 }, vaultOrigin, [forged.port2, new MessageChannel().port2]);
    forged.port1.postMessage({ id: 'evil-forged', type: 'APPLY', path: ['begin'], argumentList: [] });
    // 3. Comlink messages on the widget's real (stolen) ports.
    const evil = [
      { id: 'evil-get-proto', type: 'GET', path: ['__proto__'] },
      { id: 'evil-get-ctor', type: 'GET', path: ['constructor', 'constructor'] },
      { id: 'evil-set-proto', type: 'SET', path: ['__proto__', 'polluted'], value: { type: 'RAW', value: 1 } },
      { id: 'evil-set-begin', type: 'SET', path: ['begin'], value: { type: 'RAW', value: 1 } },
      { id: 'evil-construct', type: 'CONSTRUCT', path: ['begin'], argumentList: [] },
      { id: 'evil-unknown', type: 'APPLY', path: ['readCardNumber'], argumentList: [] },
      { id: 'evil-endpoint', type: 'ENDPOINT', path: [] },
    ];
    results.stolenPorts = w.__stolenPorts.length;
    for (const port of w.__stolenPorts) for (const m of evil) port.postMessage(m);
    await new Promise((r) => setTimeout(r, 1500));
    results.forgedReplies = forgedReplies.length;
    results.stolenReplies = w.__replies.length;
    return results;
  }, ORIGINS.vault);

  expect(attempts.contentDocument).not.toBe('readable');
  expect(attempts.windowDocument).toBe('threw');
  expect(attempts.stolenPorts).toBeGreaterThan(0); // the attack really had the widget's port
  expect(attempts.stolenReplies).toBe(0);
  expect(attempts.forgedReplies).toBe(0);

  // The frame is unharmed: the payment goes through.
  const year = String((new Date().getFullYear() + 2) % 100).padStart(2, '0');
  await frame.getByLabel(/expir/i).fill(`11 / ${year}`);
  await frame.getByLabel(/security code|cvc/i).fill('123');
  await frame.getByRole('button', { name: /pay/i }).click();
  await expect(page.getByTestId('step-status')).toContainText('4242');
});

test('a site that is not a configured bank cannot frame the vault: the browser blocks it by CSP', async ({ page }) => {
  // A real page on another site, served from loopback like the others.
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Not a bank</title><iframe id="v" src="${ORIGINS.vault}/frame" title="vault"></iframe>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  const port = (evil.address() as AddressInfo).port;
  const messages: string[] = [];
  page.on('console', (m) => messages.push(m.text()));
  try {
    const vaultResponse = page.waitForResponse((r) => r.url().startsWith(`${ORIGINS.vault}/frame`));
    await page.goto(`http://evil.localhost:${port}/`);
    expect((await vaultResponse).status()).toBe(200); // the request happened; rendering is what is refused
    await expect.poll(() => messages.some((m) => /frame-ancestors/.test(m))).toBe(true);
    const vaultFrame = page.frames().find((f) => f.url().startsWith(ORIGINS.vault));
    if (vaultFrame) expect(await vaultFrame.locator('input').count()).toBe(0);
    await expect(page.frameLocator('#v').getByLabel('Card number')).toHaveCount(0);
  } finally {
    evil.close();
  }
});

test('the vault frame refuses to render when it is not framed by an allowed bank origin', async ({ page }) => {
  // Top-level: no parent at all.
  await page.goto(`${ORIGINS.vault}/frame`);
  await expect(page.getByLabel('Card number')).toHaveCount(0);
  // Framed by a foreign site: the browser blocks it by CSP frame-ancestors.
  const response = await fetch(`${INTERNAL.vault}/frame`);
  const csp = response.headers.get('content-security-policy') ?? '';
  expect(csp).toContain(`frame-ancestors ${ORIGINS.bank}`);
  expect(csp).not.toContain('*');
});
