/**
 * The real frame in Debian's Chromium, under the real CSP (Trusted Types included), on two
 * different sites: a bank page at bank.localhost and the vault at vault.localhost. The host side
 * speaks the Comlink wire format by hand, as a hostile host could.
 *
 * Skipped when Chromium is not installed (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultService, type VaultService } from '../../../vault/service/app.ts';
import { DEFAULT_TUNING } from '../../../vault/service/config.ts';
import { createIssuer, listen, pivotClaims, serveJwks, tempDir, logCapture, type Issuer, type TestServer } from '../helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Budget of the frame script, min+gzip (docs/design.md, "Performance budgets"). */
const FRAME_JS_BUDGET_GZ = 20 * 1024;
const PAN = '4242424242424242';
/** How long a poll waits for the frame: only a guard against a hang, generous for a loaded machine. */
const POLL_TIMEOUT_MS = 15_000;
/** The page clock is held this far ahead of now: far more than the trip of the call that holds it. */
const HOLD_AHEAD_MS = 10_000;
const poll = <T>(check: () => T | Promise<T>, message?: string) => expect.poll(check, { timeout: POLL_TIMEOUT_MS, interval: 25, ...(message ? { message } : {}) });

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe.skipIf(!existsSync(CHROMIUM))('vault frame in Chromium', () => {
  const dist = tempDir('vault-frame-dist-');
  const data = tempDir('vault-frame-data-');
  let issuer: Issuer;
  let jwks: TestServer;
  let bank: TestServer;
  let vault: VaultService;
  let browser: Browser;
  let bankOrigin: string;
  let evilOrigin: string;
  let vaultOrigin: string;

  beforeAll(async () => {
    await build({ configFile: join(import.meta.dirname, '../../../vite.config.ts'), mode: 'vault', logLevel: 'silent', build: { outDir: dist.path } });
    issuer = await createIssuer();
    jwks = await serveJwks(issuer.jwks);
    const bankPort = await freePort();
    bank = await listen((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bank</title><body><h1>Bank</h1></body>'));
    bank.server.close();
    await new Promise<void>((r) => bank.server.listen(bankPort, '127.0.0.1', r));
    bankOrigin = `http://bank.localhost:${bankPort}`;
    evilOrigin = `http://evil.localhost:${bankPort}`;
    const vaultPort = await freePort();
    vaultOrigin = `http://vault.localhost:${vaultPort}`;
    vault = (
      await createVaultService(
        {
          host: '127.0.0.1',
          port: vaultPort,
          origin: vaultOrigin,
          dataDir: data.path,
          allowedParentOrigins: [bankOrigin],
          trustedIssuer: 'http://chat.localhost:8081',
          issuerJwksUrl: `${jwks.url}/.well-known/jwks.json`,
          noticeUrl: 'http://127.0.0.1:9/v1/vault/notices',
          noticeAudience: 'http://chat.localhost:8081',
          logLevel: 'warn',
          distDir: dist.path,
          tuning: DEFAULT_TUNING,
          tokenizeRatePerMinute: 120,
        },
        { logStream: logCapture().stream },
      )
    );
    await vault.app.listen({ host: '127.0.0.1', port: vaultPort });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });

  afterAll(async () => {
    await browser?.close();
    await vault?.close();
    await bank?.close();
    await jwks?.close();
    dist.remove();
    data.remove();
  });

  const token = (overrides: Record<string, unknown> = {}) =>
    issuer.sign(pivotClaims({ iss: 'http://chat.localhost:8081', aud: vaultOrigin, origin: bankOrigin, ...overrides }));

  /** Open the bank page, embed the frame, connect; returns the page and console messages. */
  async function embed(origin = bankOrigin, options: { clock?: boolean } = {}): Promise<{ page: Page; consoleMessages: ConsoleMessage[] }> {
    const page = await browser.newPage();
    // A page clock the test can hold (every frame's performance.now, event times and timers).
    if (options.clock) await page.clock.install();
    const consoleMessages: ConsoleMessage[] = [];
    page.on('console', (m) => consoleMessages.push(m));
    await page.goto(`${origin}/`);
    await page.evaluate(async (vaultOrigin) => {
      const iframe = document.createElement('iframe');
      iframe.src = `${vaultOrigin}/frame`;
      iframe.title = 'Secure card form';
      // As the widget embeds it (widget/secure-chat/vault-frame.ts).
      iframe.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
      iframe.setAttribute('allow', 'payment');
      iframe.setAttribute('referrerpolicy', 'no-referrer');
      // Tall enough for the whole form, as the widget sizes it from the frame's resize events:
      // the Pay button only works while the summary and the button are fully in view.
      iframe.style.width = '420px';
      iframe.style.height = '640px';
      iframe.style.border = '0';
      const loaded = new Promise((r) => iframe.addEventListener('load', r, { once: true }));
      document.body.append(iframe);
      await loaded;
      const rpc = new MessageChannel();
      const events = new MessageChannel();
      const state = { events: [] as unknown[], pending: new Map<string, (v: unknown) => void>(), n: 0 };
      events.port1.onmessage = (e) => state.events.push(e.data);
      rpc.port1.onmessage = (e) => {
        const resolve = state.pending.get(e.data.id);
        state.pending.delete(e.data.id);
        resolve?.(e.data);
      };
      /** Resolves with the frame's reply: no time limit, a slow machine is not a missing reply. */
      const send = (port: MessagePort, message: Record<string, unknown>) =>
        new Promise((resolve) => {
          const id = `c-${++state.n}`;
          state.pending.set(id, resolve);
          port.postMessage({ id, ...message });
        });
      const apply = (arg: unknown) => ({ type: 'APPLY', path: ['begin'], argumentList: [{ type: 'RAW', value: arg }] });
      Object.assign(window, {
        spc: {
          state,
          call: (arg: unknown) => send(rpc.port1, apply(arg)),
          /**
           * Posts `message`, then a well-formed call: the frame handles a port's messages in order
           * and drops a bad one at once, so once the call is answered, `message` had its answer
           * (if any) before. 'no-reply' when it had none.
           */
          raw: async (message: Record<string, unknown>) => {
            let reply: unknown = 'no-reply';
            void send(rpc.port1, message).then((r) => (reply = r));
            await send(rpc.port1, apply({ token: 'a.b.c' }));
            return reply;
          },
          iframe,
        },
      });
      iframe.contentWindow!.postMessage({ type: 'spc:connect', version: 1 }, vaultOrigin, [rpc.port2, events.port2]);
    }, vaultOrigin);
    return { page, consoleMessages };
  }

  const begin = (page: Page, arg: unknown) => page.evaluate((a) => (window as unknown as { spc: { call(a: unknown): Promise<unknown> } }).spc.call(a), arg);
  const events = (page: Page) => page.evaluate(() => (window as unknown as { spc: { state: { events: { type: string }[] } } }).spc.state.events);

  it(`builds a frame script within ${FRAME_JS_BUDGET_GZ} bytes min+gzip`, () => {
    const size = gzipSync(readFileSync(join(dist.path, 'frame.js'))).length;
    expect(size).toBeLessThanOrEqual(FRAME_JS_BUDGET_GZ);
  });

  it('verifies the token, shows the signed amount, tokenizes the card and reports only display data', async () => {
    const { page, consoleMessages } = await embed();
    const requests: { url: string; body: string | null; origin: Promise<string | undefined> }[] = [];
    // allHeaders(): Origin is added by the network stack, after the request event.
    page.on('request', (r) => requests.push({ url: r.url(), body: r.postData(), origin: r.allHeaders().then((h) => h['origin']) }));

    const result = (await begin(page, { token: await token(), locale: 'en-GB', theme: { accent: '#aa3300', radius: 4 } })) as { value: unknown };
    expect(result.value).toEqual({
      ok: true,
      display: { kind: 'card_payment', stepId: 'stp_0123456789abcdef01', amount: { minor: 1250, currency: 'EUR' }, formattedAmount: '€12.50', purpose: 'Card for the overdraft fee refund', reference: 'REF-42' },
    });

    const frame = page.frameLocator('iframe');
    await poll(() => frame.locator('button.spc-pay').textContent()).toBe('Pay €12.50');
    expect(await frame.locator('#spc-number').getAttribute('autocomplete')).toBe('cc-number');
    expect(await frame.locator('#spc-expiry').getAttribute('autocomplete')).toBe('cc-exp');
    expect(await frame.locator('#spc-cvc').getAttribute('autocomplete')).toBe('cc-csc');
    expect(await frame.locator('#spc-name').getAttribute('autocomplete')).toBe('cc-name');
    expect(await frame.locator('#spc-number').getAttribute('inputmode')).toBe('numeric');
    expect(await frame.getByLabel('Card number').count()).toBe(1);

    // A Luhn failure is flagged as soon as the number is complete.
    await frame.locator('#spc-number').fill('4242424242424241');
    expect(await frame.locator('#spc-number').getAttribute('aria-invalid')).toBe('true');
    expect(await frame.locator('#spc-number-error').textContent()).toBe('Enter a valid card number.');

    await frame.locator('#spc-number').fill(PAN);
    expect(await frame.locator('#spc-number').inputValue()).toBe('4242 4242 4242 4242');
    expect(await frame.locator('.spc-brand').textContent()).toBe('Visa');
    const yy = String((new Date().getFullYear() + 3) % 100).padStart(2, '0');
    await frame.locator('#spc-expiry').fill(`12${yy}`);
    expect(await frame.locator('#spc-expiry').inputValue()).toBe(`12 / ${yy}`);
    await frame.locator('#spc-cvc').fill('123');
    await frame.locator('button.spc-pay').click();

    await poll(async () => (await events(page)).some((e) => e.type === 'complete')).toBe(true);
    await poll(() => frame.locator('.spc-notice').textContent()).toBe('Visa •••• 4242 saved');
    const all = await events(page);
    const complete = all.find((e) => e.type === 'complete') as unknown as { card: Record<string, unknown> };
    expect(complete.card).toMatchObject({ brand: 'visa', last4: '4242', expMonth: 12, token: expect.stringMatching(/^tok_/) });
    expect(all.map((e) => e.type)).toContain('ready');
    expect(all.map((e) => e.type)).toContain('change');
    expect(all.some((e) => e.type === 'resize')).toBe(true);
    expect(JSON.stringify(all)).not.toContain(PAN);
    expect(JSON.stringify(all)).not.toContain('4242 4242');

    // The host cannot read the frame, and the PAN went only to the vault origin, with its Origin.
    expect(await page.evaluate(() => (window as unknown as { spc: { iframe: HTMLIFrameElement } }).spc.iframe.contentDocument)).toBeNull();
    // Request events of the frame's process arrive on their own channel: wait for the one expected.
    const panRequests = () => requests.filter((r) => (r.body ?? '').includes(PAN) || r.url.includes(PAN));
    await poll(() => panRequests().length).toBe(1);
    const withPan = panRequests();
    expect(withPan.map((r) => new URL(r.url).origin)).toEqual([vaultOrigin]);
    expect(await withPan[0]!.origin).toBe(vaultOrigin);
    expect(requests.every((r) => new URL(r.url).origin === vaultOrigin)).toBe(true);

    // No CSP / Trusted Types violation, no other error, nothing about card data in the console.
    const problems = consoleMessages.filter((m) => m.type() === 'error' || m.type() === 'warning').map((m) => m.text());
    expect(problems).toEqual([]);
    expect(consoleMessages.map((m) => m.text()).join('\n')).not.toContain('4242');
    await page.close();
  });

  it('refuses Pay while the host covers, fades, filters or transforms the frame, and right after it stops; accepts it 500 ms later', async () => {
    const { page, consoleMessages } = await embed(bankOrigin, { clock: true });
    // A route sees each request before the browser may send it: none can be sent uncounted.
    const posts: string[] = [];
    await page.route(`${vaultOrigin}/**`, (route) => {
      if (route.request().method() === 'POST') posts.push(new URL(route.request().url()).pathname);
      return route.continue();
    });
    expect(((await begin(page, { token: await token() })) as { value: { ok: boolean } }).value.ok).toBe(true);
    const frame = page.frameLocator('iframe');
    const pay = frame.locator('button.spc-pay');
    const alert = frame.locator('.spc-alert');
    const yy = String((new Date().getFullYear() + 3) % 100).padStart(2, '0');
    await frame.locator('#spc-number').fill(PAN);
    await frame.locator('#spc-expiry').fill(`12${yy}`);
    await frame.locator('#spc-cvc').fill('123');
    await poll(() => pay.getAttribute('aria-disabled')).toBe('false');
    // A real mouse click where the button is at that moment (`force`: Playwright would otherwise
    // wait for aria-disabled="false").
    const clickPay = () => pay.click({ force: true });

    // Each trick the host page can play; the click itself is a real one and reaches the button.
    const tricks: Record<string, string> = {
      'transparent overlay': 'overlay',
      'opacity 0.01': 'opacity:0.01',
      'CSS filter': 'filter:blur(0.1px)',
      '3D transform': 'transform:rotateX(8deg)',
    };
    for (const [name, trick] of Object.entries(tricks)) {
      await page.evaluate((t) => {
        const iframe = (window as unknown as { spc: { iframe: HTMLIFrameElement } }).spc.iframe;
        if (t === 'overlay') {
          const r = iframe.getBoundingClientRect();
          const div = document.createElement('div');
          div.id = 'trick';
          Object.assign(div.style, { position: 'fixed', left: `${r.left}px`, top: `${r.top}px`, width: `${r.width}px`, height: `${r.height}px`, background: 'rgba(255,255,255,0.01)', pointerEvents: 'none', zIndex: '9' });
          document.body.append(div);
        } else {
          const [prop, value] = t.split(':') as [string, string];
          iframe.style.setProperty(prop, value);
        }
      }, trick);
      await poll(() => pay.getAttribute('aria-disabled'), name).toBe('true');
      await clickPay();
      await poll(() => alert.textContent(), name).toMatch(/must be fully visible/);
      // Undo the trick and click at once. The page clock is held first: for the frame no time
      // passes between the two, however slow the machine, so the click is within VISIBLE_FOR_MS.
      // (Had any refused click counted, the card would be sent and the form gone: the final
      // count of exactly one POST, after the last click, would fail.)
      await page.clock.pauseAt(Date.now() + HOLD_AHEAD_MS);
      await page.evaluate(() => {
        document.getElementById('trick')?.remove();
        (window as unknown as { spc: { iframe: HTMLIFrameElement } }).spc.iframe.style.cssText = 'width:420px;height:640px;border:0';
      });
      await clickPay();
      await poll(() => alert.textContent(), name).toMatch(/must be fully visible/);
      expect(posts, name).toEqual([]);
      // Time runs again: the button tells when it counts, and the message goes away.
      await page.clock.resume();
      await poll(() => pay.getAttribute('aria-disabled'), name).toBe('false');
      expect(await alert.textContent()).toBe('');
    }
    await clickPay();
    await poll(async () => (await events(page)).some((e) => e.type === 'complete')).toBe(true);
    // The frame asks whether the customer has a passkey first (this one has none), then pays.
    expect(posts).toEqual(['/v1/passkeys/challenges', '/v1/tokens']);
    expect(consoleMessages.filter((m) => m.type() === 'error' && /Content Security Policy|Trusted Type/.test(m.text()))).toEqual([]);
    await page.close();
  });

  it('answers a second begin with FRAME_ALREADY_BEGUN and never answers GET/SET', async () => {
    const { page } = await embed();
    expect(((await begin(page, { token: await token() })) as { value: { ok: boolean } }).value.ok).toBe(true);
    expect(((await begin(page, { token: await token() })) as { value: unknown }).value).toEqual({ ok: false, error: { code: 'FRAME_ALREADY_BEGUN', message: expect.any(String) } });
    const raw = (m: Record<string, unknown>) => page.evaluate((msg) => (window as unknown as { spc: { raw(m: unknown): Promise<unknown> } }).spc.raw(msg), m);
    expect(await raw({ type: 'GET', path: ['begin'] })).toBe('no-reply');
    expect(await raw({ type: 'SET', path: ['__proto__', 'x'], value: { type: 'RAW', value: 1 } })).toBe('no-reply');
    expect(await raw({ type: 'APPLY', path: ['begin', 'call'], argumentList: [] })).toBe('no-reply');
    await page.close();
  });

  it('refuses a token issued for another page origin, and shows no form', async () => {
    const { page } = await embed();
    const result = (await begin(page, { token: await token({ origin: 'http://other.localhost:1' }) })) as { value: unknown };
    expect(result.value).toEqual({ ok: false, error: { code: 'TOKEN_ORIGIN_MISMATCH', message: expect.any(String) } });
    expect(await page.frameLocator('iframe').locator('#spc-number').count()).toBe(0);
    await page.close();
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const { page } = await embed();
    const now = Math.floor(Date.now() / 1000);
    const result = (await begin(page, { token: await token({ iat: now - 400, nbf: now - 400, exp: now - 200 }) })) as { value: { error: { code: string } } };
    expect(result.value.error.code).toBe('TOKEN_EXPIRED');
    await page.close();
  });

  it('shows a refusal, never the form, when opened outside a frame', async () => {
    const page = await browser.newPage();
    await page.goto(`${vaultOrigin}/frame`);
    await poll(() => page.locator('.spc-notice').textContent()).toContain('can only be opened');
    expect(await page.locator('form').count()).toBe(0);
    await page.close();
  });

  it('cannot be framed by an origin that is not configured (CSP frame-ancestors)', async () => {
    const { page, consoleMessages } = await embed(evilOrigin);
    // The browser says why it blocked the frame, and no frame document of the vault runs: no
    // form, and no vault frame at all to answer a call.
    await poll(() => consoleMessages.map((m) => m.text()).join('\n')).toMatch(/frame-ancestors/);
    expect(page.frames().filter((f) => f.url().startsWith(vaultOrigin))).toEqual([]);
    expect(await page.frameLocator('iframe').locator('#spc-number').count()).toBe(0);
    await page.close();
  });
});
