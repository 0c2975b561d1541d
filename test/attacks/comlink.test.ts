/**
 * Attacks from a compromised host page on the vault frame's rpc port. The frame's real hardened
 * endpoint (vault/frame/hardened-endpoint.ts) wraps one end of a REAL MessageChannel
 * (node:worker_threads), `serveApply` serves a facade built with `createFacade`, exactly as
 * vault/frame/main.ts does; the test holds the other end, as the host page would, and sends raw
 * Comlink wire messages. A refused message gets NO reply, never reaches `begin`, and is counted
 * in the endpoint's stats by reason. "No reply" is shown without waiting on time: each attack is
 * followed by a well-formed probe call on the same port, and messages are handled in order, so
 * once the probe is answered every reply to the attack would already be there.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_API_METHODS, type BeginResult } from '../../protocol/frame.ts';
import { createFacade, hardenEndpoint, serveApply, type DropReason, type EndpointStats } from '../../vault/frame/hardened-endpoint.ts';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0.c2lnbmF0dXJl';
/** The probe's argument, told apart from the attacks' calls. */
const PROBE_TOKEN = 'probe.probe.probe';

interface Frame {
  /** The host page's end of the rpc channel. */
  readonly host: MessagePort;
  readonly stats: EndpointStats;
  /** Every reply the frame posted to the host. */
  readonly replies: unknown[];
  /** Every argument `begin` was called with (the probes' left out). */
  readonly calls: unknown[];
  /** Probe calls made so far (each one accepted by the endpoint). */
  probes: number;
}

const opened: MessagePort[] = [];
afterEach(() => {
  for (const port of opened.splice(0)) port.close();
});

function openFrame(): Frame {
  const calls: unknown[] = [];
  const facade = createFacade({
    begin: async (args: unknown): Promise<BeginResult> => {
      if ((args as { token?: unknown }).token !== PROBE_TOKEN) calls.push(args);
      return { ok: false, error: { code: 'FRAME_NOT_READY', message: 'control' } };
    },
  });
  const { port1: host, port2: frame } = new MessageChannel();
  opened.push(host, frame);
  const endpoint = hardenEndpoint(frame as unknown as Comlink.Endpoint, FRAME_API_METHODS);
  serveApply(facade, endpoint);
  const replies: unknown[] = [];
  host.on('message', (data: unknown) => {
    if (!String((data as { id?: unknown } | null)?.id).startsWith('probe-')) replies.push(data);
  });
  return { host, stats: endpoint.stats, replies, calls, probes: 0 };
}

/** Send one raw wire message from the host end, then a probe call, and wait for the probe's answer. */
async function attack(frame: Frame, message: unknown, transfer: MessagePort[] = []): Promise<void> {
  const id = `probe-${++frame.probes}`;
  const answered = new Promise<void>((resolve) => {
    const onMessage = (data: unknown) => {
      if ((data as { id?: unknown } | null)?.id !== id) return;
      frame.host.off('message', onMessage);
      resolve();
    };
    frame.host.on('message', onMessage);
  });
  frame.host.postMessage(message, transfer);
  frame.host.postMessage(apply({ id, argumentList: [{ type: 'RAW', value: { token: PROBE_TOKEN } }] }));
  await answered;
}

function expectDropped(frame: Frame, reason: DropReason): void {
  expect(frame.replies).toEqual([]);
  expect(frame.calls).toEqual([]);
  expect(frame.stats).toMatchObject({ accepted: frame.probes, dropped: 1, byReason: { [reason]: 1 } });
}

const apply = (overrides: Record<string, unknown> = {}) => ({
  id: 'a1b2-c3d4-e5f6-0718',
  type: 'APPLY',
  path: ['begin'],
  argumentList: [{ type: 'RAW', value: { token: TOKEN } }],
  ...overrides,
});

describe('attack: raw Comlink wire messages on the vault rpc port', () => {
  it('control: a valid APPLY begin({token}) DOES get a reply with the same id', async () => {
    const frame = openFrame();
    await attack(frame, apply());
    expect(frame.calls).toEqual([{ token: TOKEN }]);
    expect(frame.replies).toEqual([{ id: 'a1b2-c3d4-e5f6-0718', type: 'RAW', value: { ok: false, error: { code: 'FRAME_NOT_READY', message: 'control' } } }]);
    expect(frame.stats).toMatchObject({ accepted: 1 + frame.probes, dropped: 0 });
  });

  it('control: a Comlink.wrap client on the host end can call begin()', async () => {
    const frame = openFrame();
    const remote = Comlink.wrap<{ begin(a: { token: string }): Promise<BeginResult> }>(frame.host as unknown as Comlink.Endpoint);
    await expect(remote.begin({ token: TOKEN })).resolves.toMatchObject({ ok: false, error: { code: 'FRAME_NOT_READY' } });
  });

  it('GET __proto__ -> dropped (not_apply), no reply', async () => {
    const frame = openFrame();
    await attack(frame, { id: 'g1', type: 'GET', path: ['__proto__'] });
    expectDropped(frame, 'not_apply');
  });

  it('GET constructor.constructor (Function constructor) -> dropped (not_apply), no reply', async () => {
    const frame = openFrame();
    await attack(frame, { id: 'g2', type: 'GET', path: ['constructor', 'constructor'] });
    expectDropped(frame, 'not_apply');
  });

  it('SET __proto__.polluted -> dropped (not_apply), no reply, Object.prototype not polluted', async () => {
    const frame = openFrame();
    await attack(frame, { id: 's1', type: 'SET', path: ['__proto__', 'polluted'], value: { type: 'RAW', value: 'yes' } });
    expectDropped(frame, 'not_apply');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('SET begin (replace the method) -> dropped (not_apply), no reply, begin still the original', async () => {
    const frame = openFrame();
    await attack(frame, { id: 's2', type: 'SET', path: ['begin'], value: { type: 'RAW', value: 'owned' } });
    expectDropped(frame, 'not_apply');
    await attack(frame, apply({ id: 'after-set' }));
    expect(frame.replies).toEqual([expect.objectContaining({ id: 'after-set', type: 'RAW', value: expect.objectContaining({ ok: false }) })]);
  });

  it('CONSTRUCT begin -> dropped (not_apply), no reply', async () => {
    const frame = openFrame();
    await attack(frame, { id: 'c1', type: 'CONSTRUCT', path: ['begin'], argumentList: [{ type: 'RAW', value: { token: TOKEN } }] });
    expectDropped(frame, 'not_apply');
  });

  it('ENDPOINT (ask for a second, unfiltered port) -> dropped (not_apply), no reply', async () => {
    const frame = openFrame();
    await attack(frame, { id: 'e1', type: 'ENDPOINT' });
    expectDropped(frame, 'not_apply');
  });

  it('RELEASE (tear down the frame API) -> dropped (not_apply), no reply, begin still served', async () => {
    const frame = openFrame();
    await attack(frame, { id: 'r1', type: 'RELEASE' });
    expectDropped(frame, 'not_apply');
    await attack(frame, apply({ id: 'after-release' }));
    expect(frame.replies).toEqual([expect.objectContaining({ id: 'after-release' })]);
  });

  it('APPLY of an unknown method (toString, __proto__, debug) -> dropped (unknown_method), no reply', async () => {
    await Promise.all(
      ['debug', 'toString', '__proto__', 'constructor'].map(async (name) => {
        const frame = openFrame();
        await attack(frame, apply({ path: [name] }));
        expectDropped(frame, 'unknown_method');
      }),
    );
  });

  it('APPLY of a nested path (begin.call) -> dropped (bad_path), no reply', async () => {
    const frame = openFrame();
    await attack(frame, apply({ path: ['begin', 'call'] }));
    expectDropped(frame, 'bad_path');
  });

  it('APPLY begin with a HANDLER (proxy) wire argument -> dropped (not_raw), no reply', async () => {
    const frame = openFrame();
    await attack(frame, apply({ argumentList: [{ type: 'HANDLER', name: 'proxy', value: { token: TOKEN } }] }));
    expectDropped(frame, 'not_raw');
  });

  it("APPLY begin with a HANDLER proxy as Comlink really sends it (a port transferred) -> dropped (transfer), no reply", async () => {
    const frame = openFrame();
    const { port1, port2 } = new MessageChannel();
    opened.push(port1, port2);
    await attack(frame, apply({ argumentList: [{ type: 'HANDLER', name: 'proxy', value: port1 }] }), [port1]);
    expectDropped(frame, 'transfer');
  });

  it('APPLY begin (otherwise valid) with a transferred MessagePort -> dropped (transfer), no reply', async () => {
    const frame = openFrame();
    const { port1, port2 } = new MessageChannel();
    opened.push(port1, port2);
    await attack(frame, apply(), [port1]);
    expectDropped(frame, 'transfer');
  });

  it('APPLY begin with schema-invalid args (bad token, extra key, theme injection) -> dropped (schema_invalid), no reply', async () => {
    const values = [{ token: 'not a jws' }, { token: TOKEN, amount: { minor: 1 } }, { token: TOKEN, theme: { accent: 'red;background:url(//evil)' } }, { token: TOKEN, locale: '../../x' }, {}];
    await Promise.all(
      values.map(async (value) => {
        const frame = openFrame();
        await attack(frame, apply({ argumentList: [{ type: 'RAW', value }] }));
        expectDropped(frame, 'schema_invalid');
      }),
    );
  });

  it('APPLY begin with extra top-level wire keys -> dropped (bad_shape), no reply', async () => {
    const frame = openFrame();
    await attack(frame, { ...apply(), value: { type: 'RAW', value: 1 } });
    expectDropped(frame, 'bad_shape');
  });
});
