import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WS_CLOSE, WS_MAX_FRAME_BYTES, type ServerFrame, CustomerServerFrameSchema, ServerFrameSchema } from '../../../protocol/chat.ts';
import { RECONNECT_BASE_DELAY_MS } from '../../../widget/shared/backoff.ts';
import { ChatConnection, parseServerFrame, type ConnectionStatus } from '../../../widget/shared/chat-connection.ts';
import { RequestError } from '../../../widget/shared/rest.ts';

class FakeSocket {
  static all: FakeSocket[] = [];
  readonly url: string;
  readyState = 0;
  sent: string[] = [];
  closedWith: number | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(url: string) {
    this.url = url;
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  // server side
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  deliver(data: unknown): void {
    this.onmessage?.({ data });
  }
  drop(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

let tickets = 0;
let frames: ServerFrame[];
let statuses: ConnectionStatus[];
let unauthorized: string[];
let invalid = 0;
let opened = 0;

function connection(url: () => Promise<string> = async () => `ws://chat.test/v1/ws?ticket=t${++tickets}`) {
  return new ChatConnection({
    frames: CustomerServerFrameSchema,
    url,
    onOpen: () => void opened++,
    onFrame: (frame) => void frames.push(frame),
    onStatus: (status) => void statuses.push(status),
    onUnauthorized: (code) => void unauthorized.push(code),
    onInvalidFrame: () => void invalid++,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    random: () => 1,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
  tickets = 0;
  frames = [];
  statuses = [];
  unauthorized = [];
  invalid = 0;
  opened = 0;
});
afterEach(() => vi.useRealTimers());

describe('ChatConnection', () => {
  it('connects with a fresh ticket and reports open and valid frames', async () => {
    const c = connection();
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all.map((s) => s.url)).toEqual(['ws://chat.test/v1/ws?ticket=t1']);
    FakeSocket.all[0]!.open();
    expect(opened).toBe(1);
    FakeSocket.all[0]!.deliver(JSON.stringify({ type: 'pong' }));
    expect(frames).toEqual([{ type: 'pong' }]);
    expect(statuses).toEqual(['connecting', 'online']);
    c.stop();
  });

  it('drops frames that fail ServerFrameSchema, are not JSON, binary or too large', async () => {
    const c = connection();
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    const socket = FakeSocket.all[0]!;
    socket.open();
    socket.deliver('not json');
    socket.deliver(JSON.stringify({ type: 'event', event: { kind: 'message' } }));
    socket.deliver(JSON.stringify({ type: 'pong', extra: 1 }));
    socket.deliver(new ArrayBuffer(8));
    socket.deliver(JSON.stringify({ type: 'error', code: 'X', message: 'y'.repeat(WS_MAX_FRAME_BYTES) }));
    expect(frames).toEqual([]);
    expect(invalid).toBe(5);
    c.stop();
  });

  it('reconnects with backoff and a new ticket after the socket drops', async () => {
    const c = connection();
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.drop(1006);
    expect(statuses.at(-1)).toBe('offline');
    await vi.advanceTimersByTimeAsync(RECONNECT_BASE_DELAY_MS - 1);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all.map((s) => s.url)).toEqual(['ws://chat.test/v1/ws?ticket=t1', 'ws://chat.test/v1/ws?ticket=t2']);
    // A second failure in a row waits twice as long.
    FakeSocket.all[1]!.drop(1006);
    await vi.advanceTimersByTimeAsync(RECONNECT_BASE_DELAY_MS * 2 - 1);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(3);
    c.stop();
  });

  it('stops for good on stop(): closes the socket, cancels the retry, never reconnects', async () => {
    const c = connection();
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    const socket = FakeSocket.all[0]!;
    socket.open();
    c.stop();
    expect(socket.closedWith).toBe(1000);
    expect(socket.onclose).toBeNull();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(c.send({ type: 'ping' })).toBe(false);
    expect(statuses.at(-1)).toBe('stopped');
  });

  it('reports an unauthorized session when the ticket is refused with 401, and stops', async () => {
    const c = connection(async () => {
      throw new RequestError('SESSION_EXPIRED', 'expired', 401);
    });
    c.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(unauthorized).toEqual(['SESSION_EXPIRED']);
    expect(FakeSocket.all).toEqual([]);
  });

  it('retries when the ticket request fails for a network reason', async () => {
    let fail = true;
    const c = connection(async () => {
      if (fail) throw new RequestError('UPSTREAM_UNAVAILABLE', 'down', 0);
      return 'ws://chat.test/v1/ws?ticket=ok';
    });
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(0);
    fail = false;
    await vi.advanceTimersByTimeAsync(RECONNECT_BASE_DELAY_MS);
    expect(FakeSocket.all).toHaveLength(1);
    c.stop();
  });

  it('reports an unauthorized session when the server closes with SESSION_EXPIRED', async () => {
    const c = connection();
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.drop(WS_CLOSE.SESSION_EXPIRED);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(unauthorized).toEqual(['SESSION_EXPIRED']);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('pings while idle and replaces a socket that has gone silent', async () => {
    const c = connection();
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    const socket = FakeSocket.all[0]!;
    socket.open();
    await vi.advanceTimersByTimeAsync(25_000);
    expect(socket.sent).toEqual([JSON.stringify({ type: 'ping' })]);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(socket.closedWith).toBe(1000);
    await vi.advanceTimersByTimeAsync(RECONNECT_BASE_DELAY_MS);
    expect(FakeSocket.all).toHaveLength(2);
    c.stop();
  });
});

describe('parseServerFrame', () => {
  it('accepts a valid frame and rejects anything else', () => {
    expect(parseServerFrame('{"type":"session","acr":"bank"}', CustomerServerFrameSchema)).toEqual({ type: 'session', acr: 'bank' });
    expect(parseServerFrame('{"type":"session","acr":"root"}', CustomerServerFrameSchema)).toBeNull();
    expect(parseServerFrame({ type: 'pong' }, CustomerServerFrameSchema)).toBeNull();
  });

  it("drops an agent's conversation summary on a customer's socket, and takes it on an agent's", () => {
    const summary = JSON.stringify({
      type: 'conversation',
      conversation: { id: 'cnv_0123456789abcdef', customerName: 'Ada', acr: 'none', channel: 'web', lastSeq: 1, lastText: 'hi', updatedAt: '2030-01-01T00:00:00.000Z' },
    });
    expect(parseServerFrame(summary, CustomerServerFrameSchema)).toBeNull();
    expect(parseServerFrame(summary, ServerFrameSchema)).toMatchObject({ type: 'conversation' });
  });
});
