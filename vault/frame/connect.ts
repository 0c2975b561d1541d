/**
 * The one `connect` handshake: the frame accepts exactly ONE `{type:'spc:connect', version:1}`
 * message, from `window.parent`, from an allowed origin, carrying exactly two MessagePorts
 * (`[rpc, events]`). Everything before it that does not qualify is ignored; everything after
 * it is dropped. Both are counted, never logged.
 *
 * @module
 */
import * as v from 'valibot';
import { ConnectMessageSchema } from '../../protocol/frame.ts';

export interface Connection {
  /** Origin of the host page that connected (an allowed one). */
  readonly origin: string;
  /** Comlink port: the host calls the frame's API. */
  readonly rpc: MessagePort;
  /** One-way port: the frame posts its events. */
  readonly events: MessagePort;
}

export interface ConnectStats {
  /** Messages ignored before the connection was made. */
  ignored: number;
  /** Messages dropped after it (any further `connect` included). */
  dropped: number;
}

function isPort(value: unknown): value is MessagePort {
  return typeof MessagePort !== 'undefined' && value instanceof MessagePort;
}

/** Start listening for the connect message on `win`. `onConnect` runs at most once. */
export function listenForConnect(
  win: Window,
  allowedOrigins: readonly string[],
  onConnect: (connection: Connection) => void,
): ConnectStats {
  const stats: ConnectStats = { ignored: 0, dropped: 0 };

  const dropLater = (): void => {
    stats.dropped++;
  };

  const onMessage = (event: MessageEvent): void => {
    const { ports } = event;
    const accepted =
      event.source === win.parent &&
      allowedOrigins.includes(event.origin) &&
      v.safeParse(ConnectMessageSchema, event.data).success &&
      ports.length === 2 &&
      isPort(ports[0]) &&
      isPort(ports[1]);
    if (!accepted) {
      stats.ignored++;
      return;
    }
    win.removeEventListener('message', onMessage);
    win.addEventListener('message', dropLater);
    onConnect({ origin: event.origin, rpc: ports[0]!, events: ports[1]! });
  };

  win.addEventListener('message', onMessage);
  return stats;
}
