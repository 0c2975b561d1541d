/**
 * One WebSocket to the chat server that keeps itself connected: a fresh single-use ticket per
 * attempt, exponential backoff between attempts, a keep-alive ping, and every incoming frame
 * validated with the side's frame schema (anything else is dropped). Delivery logic (resume, outbox,
 * dedupe) is not here but in {@link ChatSync}, which the owner feeds from `onOpen` / `onFrame`.
 *
 * @module
 */
import { safeParse, type GenericSchema } from 'valibot';
import { WS_CLOSE, WS_MAX_FRAME_BYTES, type ClientFrame, type ServerFrame } from '../../protocol/chat.ts';
import { backoffDelay } from './backoff.ts';
import { RequestError } from './rest.ts';

/** A ping goes out this often, in milliseconds, so idle proxies keep the socket. */
export const PING_INTERVAL_MS = 25_000;
/** With no frame at all for this long, in milliseconds, the socket is presumed dead and replaced. */
export const SILENCE_TIMEOUT_MS = 60_000;

export type ConnectionStatus = 'connecting' | 'online' | 'offline' | 'stopped';

export interface ChatConnectionOptions {
  /** Full `ws(s)://.../v1/ws?ticket=...` URL with a fresh ticket; throws RequestError on refusal. */
  readonly url: () => Promise<string>;
  readonly onOpen: () => void;
  readonly onFrame: (frame: ServerFrame) => void;
  readonly onClose?: () => void;
  readonly onStatus?: (status: ConnectionStatus) => void;
  /** The session is no longer accepted (401 for a ticket, close 4001). The connection has stopped. */
  readonly onUnauthorized: (code: string) => void;
  /** A frame failed validation and was dropped. */
  readonly onInvalidFrame?: () => void;
  readonly WebSocket?: typeof WebSocket;
  readonly random?: () => number;
  /** The frames this side accepts: a customer's (CustomerServerFrameSchema) or an agent's (ServerFrameSchema). */
  readonly frames: GenericSchema<unknown, ServerFrame>;
}

export class ChatConnection {
  #options: ChatConnectionOptions;
  #socket: WebSocket | null = null;
  #attempt = 0;
  #stopped = true;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #lastFrameAt = 0;
  #status: ConnectionStatus = 'stopped';
  #onOnline = () => this.reconnectNow();

  constructor(options: ChatConnectionOptions) {
    this.#options = options;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#attempt = 0;
    globalThis.addEventListener?.('online', this.#onOnline);
    void this.#connect();
  }

  /** Closes the socket and cancels every timer. Idempotent. */
  stop(): void {
    this.#stopped = true;
    globalThis.removeEventListener?.('online', this.#onOnline);
    clearTimeout(this.#retryTimer);
    this.#dropSocket();
    this.#setStatus('stopped');
  }

  /** Skip the backoff wait (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.#stopped || this.#socket) return;
    clearTimeout(this.#retryTimer);
    this.#attempt = 0;
    void this.#connect();
  }

  /** Sends when the socket is open; false otherwise (the caller's outbox keeps the message). */
  send(frame: ClientFrame): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  async #connect(): Promise<void> {
    this.#setStatus('connecting');
    let url: string;
    try {
      url = await this.#options.url();
    } catch (error) {
      if (this.#stopped) return;
      if (error instanceof RequestError && error.status === 401) {
        this.stop();
        this.#options.onUnauthorized(error.code);
      } else {
        this.#retry();
      }
      return;
    }
    if (this.#stopped) return;
    const Ctor = this.#options.WebSocket ?? WebSocket;
    const socket = new Ctor(url);
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempt = 0;
      this.#lastFrameAt = Date.now();
      this.#setStatus('online');
      this.#pingTimer = setInterval(() => this.#ping(), PING_INTERVAL_MS);
      this.#options.onOpen();
    };
    socket.onmessage = (message: MessageEvent) => {
      this.#lastFrameAt = Date.now();
      const frame = parseServerFrame(message.data, this.#options.frames);
      if (frame) this.#options.onFrame(frame);
      else this.#options.onInvalidFrame?.();
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.#socket !== socket) return;
      this.#dropSocket();
      this.#options.onClose?.();
      if (this.#stopped) return;
      if (event.code === WS_CLOSE.SESSION_EXPIRED) {
        this.stop();
        this.#options.onUnauthorized('SESSION_EXPIRED');
        return;
      }
      this.#retry();
    };
  }

  #ping(): void {
    if (Date.now() - this.#lastFrameAt > SILENCE_TIMEOUT_MS) {
      // Half-open socket: no close event will ever come. Replace it.
      this.#dropSocket();
      this.#options.onClose?.();
      this.#retry();
      return;
    }
    this.send({ type: 'ping' });
  }

  #retry(): void {
    this.#setStatus('offline');
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), backoffDelay(this.#attempt++, this.#options.random));
  }

  #dropSocket(): void {
    clearInterval(this.#pingTimer);
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    if (socket.readyState === 0 || socket.readyState === 1) socket.close(1000);
  }

  #setStatus(status: ConnectionStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#options.onStatus?.(status);
  }
}

/** Parses and validates one incoming WebSocket message; `null` for anything not in the contract. */
export function parseServerFrame(data: unknown, schema: GenericSchema<unknown, ServerFrame>): ServerFrame | null {
  if (typeof data !== 'string' || data.length > WS_MAX_FRAME_BYTES) return null;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = safeParse(schema, json);
  return parsed.success ? parsed.output : null;
}
