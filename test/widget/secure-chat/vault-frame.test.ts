/**
 * The widget's frame host against a scripted fake vault: a fake iframe element (Node has no DOM)
 * whose contentWindow records the `connect`, and a vault side that answers Comlink `APPLY`
 * messages on the transferred port the way the hardened vault endpoint does.
 */
import { CUSTOMER_VIEWS } from '../../../protocol/steps/index.ts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FRAME_INITIAL_HEIGHT_PX, type BeginResult } from '../../../protocol/frame.ts';
import { FRAME_MAX_HEIGHT_PX } from '../../../widget/secure-chat/frame-messages.ts';
import { FRAME_BEGIN_TIMEOUT_MS, VaultFrame, type VaultFrameUpdate } from '../../../widget/secure-chat/vault-frame.ts';

const VAULT = 'http://vault.localhost:8082';
const STEP = 'stp_abcdefghijklmnop';
const TOKEN = 'aaa.bbb.ccc';
const display = { kind: 'card_payment' as const, stepId: STEP, amount: { minor: 1250, currency: 'EUR' }, formattedAmount: '€12.50', purpose: 'Invoice', reference: 'INV-1' };
const card = { token: 'tok_abcdefghijklmnop1234', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 } as const;
/** How long a wait for the widget's reaction may take: only a guard against a hang. */
const WAIT_TIMEOUT_MS = 15_000;
const waitFor = (check: () => void) => vi.waitFor(check, { timeout: WAIT_TIMEOUT_MS, interval: 5 });

interface Posted {
  message: unknown;
  targetOrigin: string;
  ports: MessagePort[];
}

class FakeIframe {
  readonly attributes = new Map<string, string>();
  readonly dataset: Record<string, string> = {};
  readonly style: Record<string, string> = {};
  allow = '';
  referrerPolicy = '';
  loading = '';
  title = '';
  removed = false;
  heightWhenSrcSet: string | undefined;
  sandboxWhenSrcSet: string | undefined;
  #src = '';
  #listeners: (() => void)[] = [];
  readonly posted: Posted[] = [];
  readonly contentWindow = {
    postMessage: (message: unknown, targetOrigin: string, ports: MessagePort[]) => void this.posted.push({ message, targetOrigin, ports }),
  };
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  addEventListener(type: string, listener: () => void): void {
    if (type === 'load') this.#listeners.push(listener);
  }
  set src(value: string) {
    this.#src = value;
    this.heightWhenSrcSet = this.style.height;
    this.sandboxWhenSrcSet = this.attributes.get('sandbox');
  }
  get src(): string {
    return this.#src;
  }
  remove(): void {
    this.removed = true;
  }
  load(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** Plays the vault: answers `begin` with `result` and exposes the events port. */
function vaultSide(posted: Posted, result: unknown) {
  const [rpc, events] = posted.ports as [MessagePort, MessagePort];
  const calls: unknown[] = [];
  rpc.onmessage = (message: MessageEvent) => {
    const data = message.data as { id: string; type: string; path: string[]; argumentList: { value: unknown }[] };
    calls.push(data);
    rpc.postMessage({ id: data.id, type: 'RAW', value: result });
  };
  return { calls, events, close: () => (rpc.close(), events.close()) };
}

let iframe: FakeIframe;
let updates: VaultFrameUpdate[];
let frames: VaultFrame[];
let sides: { close(): void }[];

beforeEach(() => {
  iframe = new FakeIframe();
  updates = [];
  frames = [];
  sides = [];
  vi.stubGlobal('document', { createElement: (tag: string) => (tag === 'iframe' ? iframe : undefined) });
});

afterEach(() => {
  for (const frame of frames) frame.destroy();
  for (const side of sides) side.close();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function open(): VaultFrame {
  const frame = new VaultFrame({
    vaultOrigin: VAULT,
    stepId: STEP,
    title: CUSTOMER_VIEWS.card_payment.frameTitle,
    args: { token: TOKEN, locale: 'en', theme: { accent: '#0b3d91' } },
    onUpdate: (update) => updates.push(update),
  });
  frames.push(frame);
  return frame;
}

function loadAndAnswer(result: unknown) {
  iframe.load();
  expect(iframe.posted).toHaveLength(1);
  const side = vaultSide(iframe.posted[0]!, result);
  sides.push(side);
  return side;
}

describe('VaultFrame', () => {
  it('creates a sandboxed iframe titled for its step kind on the vault origin, with its height reserved before it loads', () => {
    const frame = open();
    expect(frame.iframe).toBe(iframe);
    expect(iframe.src).toBe(`${VAULT}/frame`);
    expect(iframe.title).toBe('Secure card payment');
    expect(iframe.allow).toBe('payment; publickey-credentials-get; publickey-credentials-create');
    expect(iframe.referrerPolicy).toBe('no-referrer');
    expect(iframe.loading).toBe('eager');
    expect(iframe.dataset.testid).toBe('vault-frame');
    expect(iframe.sandboxWhenSrcSet).toBe('allow-scripts allow-same-origin allow-forms');
    expect(iframe.sandboxWhenSrcSet).not.toMatch(/allow-top-navigation|allow-popups/);
    expect(iframe.heightWhenSrcSet).toBe(`${FRAME_INITIAL_HEIGHT_PX}px`);
    expect(iframe.posted).toEqual([]);
  });

  it('on load posts one connect to the exact vault origin with two ports, then calls begin', async () => {
    open();
    const side = loadAndAnswer({ ok: true, display } satisfies BeginResult);
    const [posted] = iframe.posted;
    expect(posted!.targetOrigin).toBe(VAULT);
    expect(posted!.message).toEqual({ type: 'spc:connect', version: 1 });
    expect(posted!.ports).toHaveLength(2);
    await waitFor(() => expect(updates).toEqual([{ type: 'begun', display }]));
    expect(side.calls).toHaveLength(1);
    expect(side.calls[0]).toMatchObject({
      type: 'APPLY',
      path: ['begin'],
      argumentList: [{ type: 'RAW', value: { token: TOKEN, locale: 'en', theme: { accent: '#0b3d91' } } }],
    });
  });

  it('can load before the token is known and calls begin once the arguments arrive', async () => {
    const frame = new VaultFrame({ vaultOrigin: VAULT, stepId: STEP, title: 'Secure address change', onUpdate: (update) => updates.push(update) });
    frames.push(frame);
    const side = loadAndAnswer({ ok: true, display });
    // Loaded without a token: no call yet. (Calls arrive in order: the one below, with the token,
    // being the first and only one proves it.)
    frame.begin({ token: TOKEN });
    frame.begin({ token: 'x.y.z' });
    await waitFor(() => expect(updates).toEqual([{ type: 'begun', display }]));
    expect(side.calls).toHaveLength(1);
    expect(side.calls[0]).toMatchObject({ argumentList: [{ type: 'RAW', value: { token: TOKEN } }] });
  });

  it('removes the frame when begin answers outside the contract', async () => {
    open();
    loadAndAnswer({ ok: true, display, extra: 'x' });
    await waitFor(() => expect(updates).toHaveLength(1));
    expect(updates[0]).toMatchObject({ type: 'error', code: 'VAULT_RESPONSE_INVALID', fatal: true });
    expect(iframe.removed).toBe(true);
  });

  it('removes the frame when it shows another step than the one requested', async () => {
    open();
    loadAndAnswer({ ok: true, display: { ...display, stepId: 'stp_someotherstep1234' } });
    await waitFor(() => expect(updates).toHaveLength(1));
    expect(updates[0]).toMatchObject({ type: 'error', code: 'VAULT_RESPONSE_INVALID', fatal: true });
  });

  it('passes on the typed error begin returns', async () => {
    open();
    loadAndAnswer({ ok: false, error: { code: 'TOKEN_EXPIRED', message: 'The payment request has expired.' } });
    await waitFor(() => expect(updates).toHaveLength(1));
    expect(updates[0]).toEqual({ type: 'error', code: 'TOKEN_EXPIRED', message: 'The payment request has expired.', fatal: true });
  });

  it('resizes on ready and resize (clamped), reports completion, and drops malformed events', async () => {
    open();
    const side = loadAndAnswer({ ok: true, display });
    await waitFor(() => expect(updates).toHaveLength(1));
    side.events.postMessage({ type: 'ready', height: 280 });
    side.events.postMessage({ type: 'resize', height: 1900 });
    side.events.postMessage({ type: 'complete', kind: 'card_payment', card: { ...card, number: '4242424242424242' } });
    side.events.postMessage({ type: 'bogus' });
    side.events.postMessage({ type: 'complete', kind: 'card_payment', card });
    await waitFor(() => expect(updates.at(-1)).toEqual({ type: 'complete', event: { type: 'complete', kind: 'card_payment', card } }));
    expect(updates.map((u) => u.type)).toEqual(['begun', 'ready', 'complete']);
    expect(iframe.style.height).toBe(`${FRAME_MAX_HEIGHT_PX}px`);
  });

  it('reports the completion of an address change and of a transfer, and drops more than the schema allows', async () => {
    open();
    const side = loadAndAnswer({ ok: true, display });
    await waitFor(() => expect(updates).toHaveLength(1));
    side.events.postMessage({ type: 'complete', kind: 'address_change', address: { city: 'Lyon', country: 'FR', line1: '1 rue X' } });
    side.events.postMessage({ type: 'complete', kind: 'transfer', outcome: 'maybe' });
    side.events.postMessage({ type: 'complete', kind: 'address_change', address: { city: 'Lyon', country: 'FR' } });
    side.events.postMessage({ type: 'complete', kind: 'transfer', outcome: 'declined' });
    await waitFor(() => expect(updates).toHaveLength(3));
    expect(updates.slice(1)).toEqual([
      { type: 'complete', event: { type: 'complete', kind: 'address_change', address: { city: 'Lyon', country: 'FR' } } },
      { type: 'complete', event: { type: 'complete', kind: 'transfer', outcome: 'declined' } },
    ]);
  });

  it('keeps the reserved height until the frame is ready, ignoring earlier resize events', async () => {
    // Every height the widget sets, in order: an early resize that was applied would show here.
    const heights: string[] = [];
    Object.defineProperty(iframe.style, 'height', {
      get: () => heights.at(-1),
      set: (value: string) => void heights.push(value),
    });
    open();
    const side = loadAndAnswer({ ok: true, display });
    const reserved = `${FRAME_INITIAL_HEIGHT_PX}px`;
    expect(heights).toEqual([reserved]);
    side.events.postMessage({ type: 'resize', height: 0 });
    await waitFor(() => expect(updates).toHaveLength(1));
    // Same port, in order: once 'ready' is applied, the earlier resize has been handled.
    side.events.postMessage({ type: 'ready', height: 410 });
    await waitFor(() => expect(iframe.style.height).toBe('410px'));
    side.events.postMessage({ type: 'resize', height: 450 });
    await waitFor(() => expect(iframe.style.height).toBe('450px'));
    expect(heights).toEqual([reserved, '410px', '450px']);
  });

  it('delivers nothing after destroy and closes its ports', async () => {
    const frame = open();
    const side = loadAndAnswer({ ok: true, display });
    await waitFor(() => expect(updates).toHaveLength(1));
    const closed = new Promise((resolve) => (side.events as unknown as { once(e: string, f: () => void): void }).once('close', () => resolve(true)));
    frame.destroy();
    expect(iframe.removed).toBe(true);
    // The widget closed its end: the vault's end hears it, and nothing sent there can arrive.
    expect(await closed).toBe(true);
    side.events.postMessage({ type: 'complete', kind: 'card_payment', card });
    expect(updates).toHaveLength(1);
  });

  it('gives up with VAULT_FRAME_UNAVAILABLE when the frame never loads', () => {
    vi.useFakeTimers();
    open();
    vi.advanceTimersByTime(FRAME_BEGIN_TIMEOUT_MS);
    expect(updates).toEqual([{ type: 'error', code: 'VAULT_FRAME_UNAVAILABLE', message: expect.any(String), fatal: true }]);
    expect(iframe.removed).toBe(true);
  });
});
