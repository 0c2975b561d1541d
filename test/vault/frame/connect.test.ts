import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { listenForConnect, type Connection } from '../../../vault/frame/connect.ts';
import { BANK_ORIGIN } from '../helpers.ts';

/** A window stand-in: an EventTarget with a distinct `parent`. */
function fakeWindow() {
  const parent = {};
  const win = Object.assign(new EventTarget(), { parent }) as unknown as Window;
  const post = (data: unknown, init: { origin?: string; source?: unknown; ports?: unknown[] } = {}) =>
    win.dispatchEvent(Object.assign(new Event('message'), { data, origin: BANK_ORIGIN, source: parent, ports: ports(), ...init }));
  return { win, parent, post };
}
function ports(n = 2): MessagePort[] {
  return Array.from({ length: n }, () => {
    const { port1, port2 } = new MessageChannel();
    port2.close();
    return port1 as unknown as MessagePort;
  });
}
const CONNECT = { type: 'spc:connect', version: 1 };

describe('the connect handshake', () => {
  it('accepts one connect from the parent, from an allowed origin, with two ports', () => {
    const { win, post } = fakeWindow();
    const seen: Connection[] = [];
    const stats = listenForConnect(win, [BANK_ORIGIN], (c) => seen.push(c));
    post(CONNECT);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.origin).toBe(BANK_ORIGIN);
    expect(stats).toEqual({ ignored: 0, dropped: 0 });
  });

  it('drops and counts every later connect, even a valid one', () => {
    const { win, post } = fakeWindow();
    const seen: Connection[] = [];
    const stats = listenForConnect(win, [BANK_ORIGIN], (c) => seen.push(c));
    post(CONNECT);
    post(CONNECT);
    post(CONNECT);
    expect(seen).toHaveLength(1);
    expect(stats.dropped).toBe(2);
  });

  it.each([
    ['from another window than the parent', CONNECT, { source: {} }],
    ['from an origin that is not allowed', CONNECT, { origin: 'http://evil.localhost:8080' }],
    ['with one port', CONNECT, { ports: ports(1) }],
    ['with three ports', CONNECT, { ports: ports(3) }],
    ['with ports that are not MessagePorts', CONNECT, { ports: [{}, {}] }],
    ['of another version', { type: 'spc:connect', version: 2 }, {}],
    ['with extra keys', { ...CONNECT, token: 'x' }, {}],
    ['that is a string', 'spc:connect', {}],
  ])('ignores a message %s, and still accepts a good one after it', (_what, data, init) => {
    const { win, post } = fakeWindow();
    const seen: Connection[] = [];
    const stats = listenForConnect(win, [BANK_ORIGIN], (c) => seen.push(c));
    post(data, init);
    expect(seen).toHaveLength(0);
    expect(stats.ignored).toBe(1);
    post(CONNECT);
    expect(seen).toHaveLength(1);
  });
});
