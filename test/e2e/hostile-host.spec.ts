/**
 * The host page is untrusted from the vault's side. A script on the bank's page (here injected
 * before any other script runs) tries to read the frame's fields, posts a forged `connect`, and
 * steals the widget's Comlink port to send GET/SET/CONSTRUCT messages. Each attempt fails, and
 * the payment still works. A page that covers, fades, filters or transforms the frame to steer
 * the customer's click (cursor-jacking) gets no card sent; and the bank page enforces Trusted
 * Types, under which the widget runs without a single violation.
 *
 * Nothing here depends on how fast the machine is: every click is aimed where the button is at
 * that moment, requests are counted where the browser cannot send them uncounted (a route), the
 * absence of an answer is shown by a later answer on the same port, and the one click that must
 * come within 500 ms of the frame being uncovered comes while the page's clock is held still.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { VISIBLE_FOR_MS } from '../../vault/frame/visibility.ts';
import { INTERNAL, ORIGINS } from './env.ts';
import { agentHeaders, storedConversation, storedMessage } from './stored.ts';

const PAN = '4242424242424242';
/** Unique per run: a signed-in customer gets their earlier conversation back. */
const RUN = Math.random().toString(36).slice(2, 10);
const MARKER = `hostile-page-test-${RUN}`;

/**
 * Runs in the bank page before its own scripts: captures every MessagePort the page posts on and
 * records the replies to the attacker's messages (ids `evil-…`) and to its probe (`probe-…`).
 */
function hostileInit(bankOrigin: string): void {
  if (location.origin !== bankOrigin) return; // addInitScript also runs inside the vault frame
  const w = window as unknown as { __stolenPorts: MessagePort[]; __replies: unknown[]; __probeReplies: unknown[] };
  w.__stolenPorts = [];
  w.__replies = [];
  w.__probeReplies = [];
  const original = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (this: MessagePort, ...args: unknown[]) {
    if (!w.__stolenPorts.includes(this)) {
      w.__stolenPorts.push(this);
      this.addEventListener('message', (ev: MessageEvent) => {
        const data = ev.data as { id?: string } | null;
        if (data && typeof data.id === 'string' && data.id.startsWith('evil-')) w.__replies.push(data);
        if (data && typeof data.id === 'string' && data.id.startsWith('probe-')) w.__probeReplies.push(data);
      });
    }
    return (original as (...a: unknown[]) => void).apply(this, args);
  } as typeof MessagePort.prototype.postMessage;
}

async function agentRequestsPayment(marker = MARKER): Promise<void> {
  const auth = await agentHeaders();
  const conversationId = await storedConversation(marker, auth);
  const step = await fetch(`${INTERNAL.chat}/v1/agent/conversations/${conversationId}/steps`, {
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
  await expect(storedMessage(page, marker)).toBeVisible();
}

/**
 * Counts the POST /v1/tokens requests of `page`'s frames. A route sees each request before the
 * browser may send it, so once the page shows a tokenized card, its request has been counted.
 */
async function countTokenPosts(page: Page): Promise<string[]> {
  const posts: string[] = [];
  await page.route(`${ORIGINS.vault}/v1/tokens`, (route) => {
    if (route.request().method() === 'POST') posts.push(route.request().url());
    return route.continue();
  });
  return posts;
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
    const w = window as unknown as { __stolenPorts: MessagePort[]; __replies: unknown[]; __probeReplies: unknown[] };
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
    // After the attack, a well-formed call on the same ports: the frame handles a port's messages
    // in order and drops a bad one at once, so by its answer every attack message has been
    // handled, and any answer to one would have come first. (The frame already began: it answers
    // FRAME_ALREADY_BEGUN.) The forged port is never even listened to.
    const probe = { id: 'probe-after-evil', type: 'APPLY', path: ['begin'], argumentList: [{ type: 'RAW', value: { token: 'a.b.c' } }] };
    for (const port of w.__stolenPorts) for (const m of [...evil, probe]) port.postMessage(m);
    while (w.__probeReplies.length === 0) {
      await new Promise((r) => {
        for (const port of w.__stolenPorts) port.addEventListener('message', r, { once: true });
      });
    }
    results.probeReply = w.__probeReplies[0];
    results.forgedReplies = forgedReplies.length;
    results.stolenReplies = w.__replies.length;
    return results;
  }, ORIGINS.vault);

  expect(attempts.contentDocument).not.toBe('readable');
  expect(attempts.windowDocument).toBe('threw');
  expect(attempts.stolenPorts).toBeGreaterThan(0); // the attack really had the widget's port
  expect(attempts.probeReply).toMatchObject({ id: 'probe-after-evil', value: { ok: false, error: { code: 'FRAME_ALREADY_BEGUN' } } });
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
  const tokenPosts = await countTokenPosts(page);
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
    // A real mouse click where the button is now (the layer lets it through). `force`: Playwright
    // itself would wait for aria-disabled="false".
    await pay.click({ force: true });
    // The refusal and the alert are one step of the frame: an accepted click would have emptied
    // the alert instead, and a refused one sends nothing.
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

/**
 * Stops the clock of every frame of the page (installed by `page.clock.install()`). It stops a
 * little ahead of now, since the clock runs on while this call travels: `HOLD_AHEAD_MS` is far
 * more than that trip on any machine, and shorter than every timer of the widget that could
 * change its state (a ping every 25 s, a dead socket after 60 s of silence).
 */
const HOLD_AHEAD_MS = 10_000;
async function holdClock(page: Page): Promise<void> {
  await page.clock.pauseAt(Date.now() + HOLD_AHEAD_MS);
}

test(`a click within ${VISIBLE_FOR_MS} ms of the frame being uncovered is refused; the same click later pays`, async ({ page }) => {
  // Every frame's clock (performance.now, event times, timers) runs as usual until it is held.
  await page.clock.install();
  const { tokenPosts } = await cardTyped(page, 'uncovered');
  const frame = page.frameLocator('[data-testid="vault-frame"]');
  const pay = frame.getByRole('button', { name: /pay/i });
  await expect(pay).toHaveAttribute('aria-disabled', 'false');

  // The page keeps a layer over the frame, then lifts it just as the customer clicks. The clock is
  // held first: for the frame no time passes between the layer going and the click, however long
  // the browser takes, so the click comes within the window on any machine.
  await applyTrick(page, 'overlay');
  await expect(pay).toHaveAttribute('aria-disabled', 'true');
  await holdClock(page);
  await removeTricks(page);
  await pay.click({ force: true });
  await expect(frame.getByRole('alert')).toContainText('must be fully visible');

  // Time runs again; nothing over the frame for 500 ms: the button says so, and the same click pays.
  await page.clock.resume();
  await expect(pay).toHaveAttribute('aria-disabled', 'false');
  await pay.click();
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
