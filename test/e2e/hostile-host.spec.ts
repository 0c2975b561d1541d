/**
 * The host page is untrusted from the vault's side. A script on the bank's page (here injected
 * before any other script runs) tries to read the frame's fields, posts a forged `connect`, and
 * steals the widget's Comlink port to send GET/SET/CONSTRUCT messages. Each attempt fails, and
 * the payment still works. A page that covers, fades, filters or transforms the frame to steer
 * the customer's click (cursor-jacking) gets no card sent; and the bank page enforces Trusted
 * Types, under which the widget runs without a single violation.
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

async function agentRequestsPayment(marker = MARKER): Promise<void> {
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
  const conv = list.conversations.find((c) => c.lastText?.includes(marker));
  expect(conv).toBeTruthy();
  const step = await fetch(`${INTERNAL.chat}/v1/agent/conversations/${conv!.id}/steps`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ kind: 'card_payment', amount: { minor: 4200, currency: 'EUR' }, purpose: 'Hostile page test', reference: 'HOST-1' }),
  });
  expect(step.status).toBe(201);
}

async function signedInCustomer(page: Page, marker = MARKER, user = `hostile-${RUN}`): Promise<void> {
  await page.goto(`${ORIGINS.bank}/`);
  await page.getByTestId('bank-sign-in').click();
  await page.getByTestId('bank-username').fill(user);
  await page.getByTestId('bank-password').fill('demo');
  await page.getByTestId('bank-sign-in-submit').click();
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  await page.getByTestId('chat-input').fill(marker);
  await page.getByTestId('chat-send').click();
  await expect(page.getByTestId('message').filter({ hasText: marker })).toBeVisible();
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
  // Pay counts once the form has been in full view for 500 ms; the button says when.
  await expect(frame.getByRole('button', { name: /pay/i })).toHaveAttribute('aria-disabled', 'false');
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

// ---- Occlusion and cursor-jacking (vault/frame/visibility.ts) ----

/** How the host page can hide or disguise the frame while the customer clicks through it. */
const TRICKS: Readonly<Record<string, string>> = {
  'a transparent layer over the frame (pointer-events: none, the click goes through)': 'overlay',
  'opacity 0.01 on the frame': 'opacity:0.01',
  'a CSS filter on the frame': 'filter:contrast(1.01)',
  'a 3D transform on the frame': 'transform:perspective(400px) rotateY(4deg)',
};

/** Apply one trick to the vault iframe (in the widget's shadow root), from the host page. */
async function applyTrick(page: Page, trick: string): Promise<void> {
  await page.evaluate((t) => {
    const host = document.querySelector('secure-chat')!;
    const iframe = (host.shadowRoot ?? host).querySelector('iframe[data-testid="vault-frame"]') as HTMLIFrameElement;
    if (t === 'overlay') {
      const r = iframe.getBoundingClientRect();
      const layer = document.createElement('div');
      layer.id = 'hostile-layer';
      Object.assign(layer.style, {
        position: 'fixed',
        left: `${r.left}px`,
        top: `${r.top}px`,
        width: `${r.width}px`,
        height: `${r.height}px`,
        background: 'rgba(255, 255, 255, 0.01)',
        pointerEvents: 'none',
        zIndex: '2147483647',
      });
      document.body.append(layer);
    } else {
      const [prop, value] = t.split(':') as [string, string];
      iframe.style.setProperty(prop, value);
    }
  }, trick);
}

/** Undo every trick, in one task of the host page. */
async function removeTricks(page: Page): Promise<void> {
  await page.evaluate(() => {
    document.getElementById('hostile-layer')?.remove();
    const host = document.querySelector('secure-chat')!;
    const iframe = (host.shadowRoot ?? host).querySelector('iframe[data-testid="vault-frame"]') as HTMLIFrameElement;
    for (const prop of ['opacity', 'filter', 'transform']) iframe.style.removeProperty(prop);
  });
}

/** A signed-in customer with a card payment open and the card typed in; counts POST /v1/tokens. */
async function cardTyped(page: Page, name: string): Promise<{ tokenPosts: string[] }> {
  const marker = `${name}-${RUN}`;
  const tokenPosts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url() === `${ORIGINS.vault}/v1/tokens`) tokenPosts.push(r.url());
  });
  await signedInCustomer(page, marker, `${name}-${RUN}`);
  await agentRequestsPayment(marker);
  await expect(page.getByTestId('step-card').last()).toHaveAttribute('data-ready', 'true');
  const frame = page.frameLocator('[data-testid="vault-frame"]');
  const year = String((new Date().getFullYear() + 2) % 100).padStart(2, '0');
  await frame.getByLabel('Card number').fill(PAN);
  await frame.getByLabel(/expir/i).fill(`11 / ${year}`);
  await frame.getByLabel(/security code|cvc/i).fill('737');
  return { tokenPosts };
}

test('a host page that covers, fades, filters or transforms the vault frame gets no card sent by a click on Pay, and the frame says why', async ({ page }) => {
  const { tokenPosts } = await cardTyped(page, 'occluded');
  const frame = page.frameLocator('[data-testid="vault-frame"]');
  const pay = frame.getByRole('button', { name: /pay/i });
  const alert = frame.getByRole('alert');
  // The customer can see when Pay counts: enabled once the form has been in full view for 500 ms.
  await expect(pay).toHaveAttribute('aria-disabled', 'false');

  for (const [name, trick] of Object.entries(TRICKS)) {
    await applyTrick(page, trick);
    await expect(pay, name).toHaveAttribute('aria-disabled', 'true');
    // A real click at the button's place: it reaches the button (the layer lets it through).
    const box = (await pay.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect(alert, name).toContainText('this form must be fully visible before you can continue');
    expect(tokenPosts, name).toEqual([]);
    await removeTricks(page);
    await expect(pay, name).toHaveAttribute('aria-disabled', 'false');
    await expect(alert, name).toHaveCount(0); // the message goes once the form counts again (role=alert, empty, hidden)
  }

  // Uncovered for 500 ms: Pay works, once.
  await pay.click();
  await expect(page.getByTestId('step-status')).toContainText('4242');
  expect(tokenPosts).toHaveLength(1);
});

test('a click within 500 ms of the frame being uncovered is refused; the same click later pays', async ({ page }) => {
  const { tokenPosts } = await cardTyped(page, 'uncovered');
  const frame = page.frameLocator('[data-testid="vault-frame"]');
  const pay = frame.getByRole('button', { name: /pay/i });
  await expect(pay).toHaveAttribute('aria-disabled', 'false');
  const box = (await pay.boundingBox())!;
  const clickPay = () => page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);

  // The page keeps a layer over the frame, then lifts it just as the customer clicks.
  await applyTrick(page, 'overlay');
  await expect(pay).toHaveAttribute('aria-disabled', 'true');
  const started = Date.now();
  await removeTricks(page);
  await clickPay();
  // Only meaningful if the click really came within the window (it comes within a few ms).
  expect(Date.now() - started).toBeLessThan(400);
  await expect(frame.getByRole('alert')).toContainText('must be fully visible');
  // Long enough for any request the refused click could have started.
  await page.waitForTimeout(300);
  expect(tokenPosts).toEqual([]);

  // Nothing over it for 500 ms: the very same click pays.
  await expect(pay).toHaveAttribute('aria-disabled', 'false');
  await clickPay();
  await expect(page.getByTestId('step-status')).toContainText('4242');
  expect(tokenPosts).toHaveLength(1);
});

// ---- Trusted Types on the host page ----

test('the bank page enforces Trusted Types, allows only the widget\'s policies, and the widget runs under it with no violation', async ({ page }) => {
  const csp = (await fetch(`${INTERNAL.bank}/`)).headers.get('content-security-policy') ?? '';
  const directives = new Map(csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
  expect(directives.get('require-trusted-types-for')).toEqual(["'script'"]);
  expect(directives.get('trusted-types')).toEqual(['lit-html', 'secure-chat-loader']);

  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(e.message));
  const violation = (text: string) => /Content Security Policy|Trusted ?Type|requires 'Trusted|Refused to/i.test(text);

  await page.goto(`${ORIGINS.bank}/`);
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  // The widget was loaded by the loader (its script.src went through the loader's policy) and
  // rendered its Lit templates (through lit-html's policy).
  expect(await page.locator('script[src$="/widget/secure-chat.js"]').count()).toBe(1);
  await expect(page.getByTestId('chat-input')).toBeVisible();
  expect(logs.filter(violation)).toEqual([]);

  // The detector can fail: a raw DOM sink and an unlisted policy name are refused, and say so.
  const refused = await page.evaluate(() => {
    const results: string[] = [];
    try {
      document.createElement('div').innerHTML = '<b>x</b>';
      results.push('innerHTML accepted');
    } catch (e) {
      results.push(`innerHTML: ${(e as Error).name}`);
    }
    try {
      (window as unknown as { trustedTypes: { createPolicy(n: string, r: object): unknown } }).trustedTypes.createPolicy('anything-goes', {});
      results.push('policy accepted');
    } catch (e) {
      results.push(`policy: ${(e as Error).name}`);
    }
    try {
      const s = document.createElement('script');
      s.src = 'http://evil.localhost:1/x.js';
      results.push('script.src accepted');
    } catch (e) {
      results.push(`script.src: ${(e as Error).name}`);
    }
    return results;
  });
  expect(refused).toEqual(['innerHTML: TypeError', 'policy: TypeError', 'script.src: TypeError']);
  await expect.poll(() => logs.filter(violation).length).toBeGreaterThanOrEqual(3);
});
