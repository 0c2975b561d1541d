/**
 * Events from the frame to the widget, on the one-way `events` port. Every event is parsed with
 * `FrameEventSchema` (strict objects) before it is posted, so nothing outside the schema (card
 * data above all) can ever leave by this path; an event that does not parse is not sent.
 *
 * @module
 */
import * as v from 'valibot';
import { FrameEventSchema, type FrameEvent } from '../../protocol/frame.ts';

/** Largest height the frame reports, in px (the schema's bound). */
export const MAX_REPORTED_HEIGHT_PX = 2000;

export type Emit = (event: FrameEvent) => void;

/** An emitter posting schema-checked events on `port`. */
export function createEmitter(port: Pick<MessagePort, 'postMessage'>): Emit {
  return (event) => {
    const parsed = v.safeParse(FrameEventSchema, event);
    if (parsed.success) port.postMessage(parsed.output);
  };
}

/** Height of `el` in whole px, within the schema's bounds. */
export function measureHeight(el: Element): number {
  return Math.min(MAX_REPORTED_HEIGHT_PX, Math.max(0, Math.ceil(el.getBoundingClientRect().height)));
}

/** Post `resize` whenever the height of `el` changes. */
export function observeHeight(el: Element, emit: Emit): void {
  let last = -1;
  new ResizeObserver(() => {
    const height = measureHeight(el);
    if (height === last) return;
    last = height;
    emit({ type: 'resize', height });
  }).observe(el);
}
