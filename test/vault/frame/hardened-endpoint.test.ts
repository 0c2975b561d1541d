import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { describe, expect, it, vi } from 'vitest';
import { FRAME_API_METHODS, type BeginArgs, type BeginResult, type FrameApi } from '../../../protocol/frame.ts';
import { createFacade, filterComlinkMessage, hardenEndpoint, serveApply } from '../../../vault/frame/hardened-endpoint.ts';

const TOKEN = 'aaaa.bbbb.cccc';

/** A fake endpoint: tests push raw messages in; whatever the listener gets is recorded. */
function fakeEndpoint() {
  const listeners: ((ev: { data: unknown; ports?: unknown[] }) => void)[] = [];
  const posted: unknown[] = [];
  const transfers: unknown[][] = [];
  return {
    endpoint: {
      postMessage: (msg: unknown, transfer?: unknown[]) => {
        posted.push(msg);
        transfers.push(transfer ?? []);
      },
      addEventListener: (_type: string, l: EventListenerOrEventListenerObject) => listeners.push(l as never),
      removeEventListener: (_type: string, l: EventListenerOrEventListenerObject) => {
        const i = listeners.indexOf(l as never);
        if (i >= 0) listeners.splice(i, 1);
      },
      start: vi.fn(),
    },
    deliver: (data: unknown, ports: unknown[] = []) => listeners.forEach((l) => l({ data, ports })),
    posted,
    transfers,
    listenerCount: () => listeners.length,
  };
}

function setup() {
  const fake = fakeEndpoint();
  const seen: unknown[] = [];
  const ep = hardenEndpoint(fake.endpoint, FRAME_API_METHODS);
  ep.addEventListener('message', (ev) => seen.push((ev as MessageEvent).data));
  return { fake, ep, seen };
}

const apply = (overrides: Record<string, unknown> = {}) => ({
  id: '1f2e-3d4c-5b6a-7980',
  type: 'APPLY',
  path: ['begin'],
  argumentList: [{ type: 'RAW', value: { token: TOKEN } }],
  ...overrides,
});

describe('hardenEndpoint', () => {
  it('lets a valid APPLY of an allow-listed method through, rebuilt from validated parts', () => {
    const { fake, ep, seen } = setup();
    fake.deliver(apply({ argumentList: [{ type: 'RAW', value: { token: TOKEN, locale: 'en-GB', theme: { accent: '#112233' } } }] }));
    expect(seen).toEqual([
      { id: '1f2e-3d4c-5b6a-7980', type: 'APPLY', path: ['begin'], argumentList: [{ type: 'RAW', value: { token: TOKEN, locale: 'en-GB', theme: { accent: '#112233' } } }] },
    ]);
    expect(ep.stats).toMatchObject({ accepted: 1, dropped: 0 });
  });

  const dropped: [string, unknown, string][] = [
    ['GET of the root', { id: 'a1', type: 'GET', path: [] }, 'not_apply'],
    ['GET of a method', { id: 'a1', type: 'GET', path: ['begin'] }, 'not_apply'],
    ['SET of __proto__', { id: 'a1', type: 'SET', path: ['__proto__', 'polluted'], value: { type: 'RAW', value: 1 } }, 'not_apply'],
    ['SET of constructor.prototype', { id: 'a1', type: 'SET', path: ['constructor', 'prototype', 'x'], value: { type: 'RAW', value: 1 } }, 'not_apply'],
    ['CONSTRUCT', { id: 'a1', type: 'CONSTRUCT', path: ['begin'], argumentList: [] }, 'not_apply'],
    ['ENDPOINT', { id: 'a1', type: 'ENDPOINT' }, 'not_apply'],
    ['RELEASE', { id: 'a1', type: 'RELEASE' }, 'not_apply'],
    ['APPLY of an unknown method', apply({ path: ['debug'] }), 'unknown_method'],
    ['APPLY of __proto__', apply({ path: ['__proto__'] }), 'unknown_method'],
    ['APPLY of constructor', apply({ path: ['constructor'] }), 'unknown_method'],
    ['APPLY of hasOwnProperty', apply({ path: ['hasOwnProperty'] }), 'unknown_method'],
    ['APPLY of a nested path', apply({ path: ['begin', 'call'] }), 'bad_path'],
    ['APPLY of the root', apply({ path: [] }), 'bad_path'],
    ['APPLY with a non-string path', apply({ path: [['begin']] }), 'bad_path'],
    ['APPLY with a HANDLER (proxy) argument', apply({ argumentList: [{ type: 'HANDLER', name: 'proxy', value: {} }] }), 'not_raw'],
    ['APPLY with a RAW wire value carrying extra keys', apply({ argumentList: [{ type: 'RAW', value: { token: TOKEN }, name: 'proxy' }] }), 'not_raw'],
    ['APPLY with two arguments', apply({ argumentList: [{ type: 'RAW', value: { token: TOKEN } }, { type: 'RAW', value: 1 }] }), 'bad_arguments'],
    ['APPLY with no argument', apply({ argumentList: [] }), 'bad_arguments'],
    ['APPLY with a schema-invalid argument', apply({ argumentList: [{ type: 'RAW', value: { token: 'not a jws' } }] }), 'schema_invalid'],
    ['APPLY with an unknown argument key', apply({ argumentList: [{ type: 'RAW', value: { token: TOKEN, extra: 1 } }] }), 'schema_invalid'],
    ['APPLY with a theme value outside its type', apply({ argumentList: [{ type: 'RAW', value: { token: TOKEN, theme: { accent: 'url(x)' } } }] }), 'schema_invalid'],
    ['APPLY with extra top-level keys', { ...apply(), value: 1 }, 'bad_shape'],
    ['APPLY with a non-string id', apply({ id: 7 }), 'bad_id'],
    ['APPLY with an absurd id', apply({ id: 'x'.repeat(500) }), 'bad_id'],
    ['a string', 'APPLY', 'not_object'],
    ['null', null, 'not_object'],
    ['an array', [apply()], 'not_object'],
  ];
  for (const [what, message, reason] of dropped) {
    it(`drops ${what} (${reason}) and counts it`, () => {
      const { fake, ep, seen } = setup();
      fake.deliver(message);
      expect(seen).toEqual([]);
      expect(ep.stats.dropped).toBe(1);
      expect(ep.stats.byReason[reason as keyof typeof ep.stats.byReason]).toBe(1);
    });
  }

  it('drops a valid APPLY that transfers ports', () => {
    const { fake, ep, seen } = setup();
    const { port1 } = new MessageChannel();
    fake.deliver(apply(), [port1]);
    port1.close();
    expect(seen).toEqual([]);
    expect(ep.stats.byReason.transfer).toBe(1);
  });

  it('hands Comlink the schema output, never the received object itself', () => {
    const value = { token: TOKEN };
    const r = filterComlinkMessage(apply({ argumentList: [{ type: 'RAW', value }] }), [], FRAME_API_METHODS);
    expect(r.ok).toBe(true);
    const passed = r.ok ? r.message.argumentList[0].value : null;
    expect(passed).toEqual(value);
    expect(passed).not.toBe(value);
    expect(Object.getPrototypeOf(passed)).toBe(Object.prototype);
  });

  it('posts replies without transferables', () => {
    const { fake, ep } = setup();
    const { port1 } = new MessageChannel();
    ep.postMessage({ id: 'x', type: 'RAW', value: 1 }, [port1 as unknown as Transferable]);
    port1.close();
    expect(fake.transfers).toEqual([[]]);
  });

  it('removes the wrapped listener', () => {
    const { fake, ep } = setup();
    const l = () => undefined;
    ep.addEventListener('message', l);
    expect(fake.listenerCount()).toBe(2);
    ep.removeEventListener('message', l);
    expect(fake.listenerCount()).toBe(1);
  });
});

describe('createFacade', () => {
  it('is frozen, has no prototype and only the given methods', () => {
    const facade = createFacade({ begin: async () => 1 });
    expect(Object.isFrozen(facade)).toBe(true);
    expect(Object.getPrototypeOf(facade)).toBe(null);
    expect(Object.keys(facade)).toEqual(['begin']);
    expect(() => {
      (facade as Record<string, unknown>).begin = 1;
    }).toThrow();
  });
});

describe('the frame server (serveApply) over a hardened MessagePort, with a Comlink client', () => {
  async function connect() {
    const calls: BeginArgs[] = [];
    const facade = createFacade({
      begin: async (args: BeginArgs): Promise<BeginResult> => {
        calls.push(args);
        return { ok: false, error: { code: 'FRAME_NOT_READY', message: 'test' } };
      },
    });
    const { port1, port2 } = new MessageChannel();
    const ep = hardenEndpoint(port2 as unknown as Comlink.Endpoint, FRAME_API_METHODS);
    serveApply(facade, ep);
    const remote = Comlink.wrap<FrameApi>(port1 as unknown as Comlink.Endpoint);
    return { remote, ep, calls, close: () => (port1.close(), port2.close()) };
  }
  /**
   * Whether `p` settled before a well-formed call made after it was answered: the server handles
   * a port's messages in order, so an answer to `p` would have come first. No waiting on time.
   */
  async function settledBeforeNextCall(remote: Comlink.Remote<FrameApi>, p: Promise<unknown>): Promise<boolean> {
    let settled = false;
    void p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await remote.begin({ token: TOKEN });
    return settled;
  }

  it('serves begin() to a Comlink client', async () => {
    const { remote, calls, close } = await connect();
    await expect(remote.begin({ token: TOKEN, locale: 'de-DE' })).resolves.toEqual({ ok: false, error: { code: 'FRAME_NOT_READY', message: 'test' } });
    expect(calls).toEqual([{ token: TOKEN, locale: 'de-DE' }]);
    close();
  });

  it('never answers a SET of __proto__ and leaves Object.prototype alone', async () => {
    const { remote, ep, close } = await connect();
    const r = remote as unknown as Record<string, Record<string, unknown>>;
    r['__proto__']!['polluted'] = 'yes';
    await remote.begin({ token: TOKEN }); // answered after the SET was handled (same port, in order)
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(ep.stats.byReason.not_apply).toBe(1);
    close();
  });

  it('never answers a GET, nor a call carrying a proxy callback', async () => {
    const { remote, ep, calls, close } = await connect();
    // Awaiting a remote property sends a GET.
    const get = Promise.resolve((remote as unknown as { begin: PromiseLike<unknown> }).begin);
    expect(await settledBeforeNextCall(remote, get)).toBe(false);
    const withProxy = remote.begin(Comlink.proxy({ token: TOKEN }) as unknown as BeginArgs);
    expect(await settledBeforeNextCall(remote, withProxy)).toBe(false);
    expect(calls).toEqual([{ token: TOKEN }, { token: TOKEN }]); // the two well-formed calls only
    expect(ep.stats.dropped).toBeGreaterThanOrEqual(2);
    close();
  });
});

describe('serveApply', () => {
  function serve(begin: (args: unknown) => unknown) {
    const { port1, port2 } = new MessageChannel();
    serveApply(createFacade({ begin }), port2 as unknown as Comlink.Endpoint);
    const replies: unknown[] = [];
    port1.on('message', (data: unknown) => replies.push(data));
    return { port1, replies, close: () => (port1.close(), port2.close()) };
  }

  it('answers a rejected call with a Comlink throw carrying only INTERNAL_ERROR', async () => {
    const { port1, close } = serve(async () => {
      throw new Error('secret detail');
    });
    const remote = Comlink.wrap<FrameApi>(port1 as unknown as Comlink.Endpoint);
    const error = await remote.begin({ token: TOKEN }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('INTERNAL_ERROR');
    expect(JSON.stringify(error)).not.toContain('secret detail');
    close();
  });

  it('ignores, on its own, every message that is not an APPLY of an own method', async () => {
    const calls: unknown[] = [];
    const { port1, replies, close } = serve((args) => calls.push(args));
    for (const message of [
      null,
      'x',
      { id: '1', type: 'GET', path: ['begin'] },
      { id: '2', type: 'SET', path: ['__proto__', 'polluted'], value: { type: 'RAW', value: 'yes' } },
      { id: '3', type: 'APPLY', path: ['constructor'], argumentList: [] },
      { id: '4', type: 'APPLY', path: ['toString'], argumentList: [] },
      { id: '5', type: 'APPLY' },
    ]) {
      port1.postMessage(message);
    }
    // Then a well-formed call: messages are handled in order, so by its answer every message
    // above was handled, and any answer to one of them would have come first.
    const answered = once(port1, 'message');
    port1.postMessage({ id: '6', type: 'APPLY', path: ['begin'], argumentList: [{ type: 'RAW', value: { token: TOKEN } }] });
    await answered;
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(calls).toEqual([{ token: TOKEN }]);
    expect(replies).toEqual([{ id: '6', type: 'RAW', value: 1 }]);
    close();
  });
});
