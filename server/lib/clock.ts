/**
 * The server's notion of "now", injectable so that tests can move time (ticket and session
 * expiry) without sleeping.
 *
 * @module
 */

import type { Clock } from '../../protocol/clock.ts';

export { systemClock, type Clock } from '../../protocol/clock.ts';

/** Seconds since the epoch, as JWT `iat`/`exp` use. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
