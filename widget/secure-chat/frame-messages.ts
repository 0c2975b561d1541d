/**
 * The widget's half of the frame protocol (protocol/frame.ts) as pure functions: the one
 * `connect` message, the rule that it is only ever posted to an exact origin, and validation of
 * everything the frame sends back. Nothing from the frame is read except what passes these.
 *
 * @module
 */
import { safeParse } from 'valibot';
import {
  BeginResultSchema,
  FRAME_PATH,
  FRAME_PROTOCOL_VERSION,
  FrameEventSchema,
  type BeginResult,
  type ConnectMessage,
  type FrameEvent,
} from '../../protocol/frame.ts';

/** The frame is never shown shorter than this, in CSS pixels, whatever it reports. */
export const FRAME_MIN_HEIGHT_PX = 120;
/** The frame is never shown taller than this, in CSS pixels, whatever it reports. */
export const FRAME_MAX_HEIGHT_PX = 900;

/** The single message that hands the frame its two ports. */
export function connectMessage(): ConnectMessage {
  return { type: 'spc:connect', version: FRAME_PROTOCOL_VERSION };
}

/**
 * The origin of an http(s) URL, or `null` for anything else (relative, `javascript:`, `data:`,
 * wildcards, garbage). Used for the configured and the server-named vault origin alike.
 */
export function originOf(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

/** Where the frame document lives on the vault origin. */
export function frameUrl(vaultOrigin: string): string {
  return vaultOrigin + FRAME_PATH;
}

/** Anything with the `Window.postMessage(message, targetOrigin, transfer)` signature. */
export interface PostTarget {
  postMessage(message: unknown, targetOrigin: string, transfer?: Transferable[]): void;
}

/**
 * Posts the `connect` message to the frame window, transferring `[rpc, events]`. The target
 * origin is the exact vault origin: the browser then delivers it only if the frame still shows a
 * vault document. A wildcard or anything that is not a bare origin throws instead of posting.
 */
export function postConnect(target: PostTarget, vaultOrigin: string, ports: readonly [MessagePort, MessagePort]): void {
  if (originOf(vaultOrigin) !== vaultOrigin) throw new TypeError(`Refusing to post to target origin "${vaultOrigin}".`);
  target.postMessage(connectMessage(), vaultOrigin, [ports[0], ports[1]]);
}

/** A frame event, or `null` when the data does not match the contract (it is then dropped). */
export function parseFrameEvent(data: unknown): FrameEvent | null {
  const parsed = safeParse(FrameEventSchema, data);
  return parsed.success ? parsed.output : null;
}

/** The result of `begin`, or `null` when the frame answered outside the contract. */
export function parseBeginResult(data: unknown): BeginResult | null {
  const parsed = safeParse(BeginResultSchema, data);
  return parsed.success ? parsed.output : null;
}

/** A reported height, clamped to what the widget is willing to show. */
export function clampFrameHeight(height: number): number {
  if (!Number.isFinite(height)) return FRAME_MIN_HEIGHT_PX;
  return Math.min(FRAME_MAX_HEIGHT_PX, Math.max(FRAME_MIN_HEIGHT_PX, Math.round(height)));
}
