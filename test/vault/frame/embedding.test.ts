/**
 * The frame renders only when every frame above it is an allowed bank origin.
 */
import { describe, expect, it } from 'vitest';
import { isEmbeddedByAllowedOrigin } from '../../../vault/frame/config.ts';

const BANK = 'http://bank.localhost:8080';
const EVIL = 'http://evil.localhost:9999';

function fakeWindow(ancestors: string[] | undefined, framed = true): Window {
  const win: Record<string, unknown> = {};
  win.parent = framed ? {} : win;
  const list = ancestors && Object.assign([...ancestors], { item: (i: number) => ancestors[i] ?? null, contains: (o: string) => ancestors.includes(o) });
  win.location = list ? { ancestorOrigins: list } : {};
  return win as unknown as Window;
}

describe('isEmbeddedByAllowedOrigin', () => {
  it('accepts a frame directly in an allowed bank page', () => {
    expect(isEmbeddedByAllowedOrigin(fakeWindow([BANK]), [BANK])).toBe(true);
  });

  it('refuses a top-level load (not framed at all)', () => {
    expect(isEmbeddedByAllowedOrigin(fakeWindow([], false), [BANK])).toBe(false);
  });

  it('refuses a frame in a page of another site', () => {
    expect(isEmbeddedByAllowedOrigin(fakeWindow([EVIL]), [BANK])).toBe(false);
  });

  it('refuses an allowed bank page that is itself framed by another site (nested)', () => {
    expect(isEmbeddedByAllowedOrigin(fakeWindow([BANK, EVIL]), [BANK])).toBe(false);
  });

  it('refuses when the browser reports no ancestors for a framed document', () => {
    expect(isEmbeddedByAllowedOrigin(fakeWindow([]), [BANK])).toBe(false);
  });

  it('leaves the decision to CSP frame-ancestors where ancestorOrigins does not exist', () => {
    expect(isEmbeddedByAllowedOrigin(fakeWindow(undefined), [BANK])).toBe(true);
  });
});
