/**
 * The one shape of "now" every realm injects: milliseconds since the epoch. Services take a
 * `clock` option so that tests move time (expiry, rate windows, retries) instead of sleeping.
 *
 * @module
 */

/** Milliseconds since the epoch. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
