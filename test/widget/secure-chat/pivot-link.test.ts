import { describe, expect, it } from 'vitest';
import { PIVOT_CODE_MAX_CHARS, takePivotCode } from '../../../widget/secure-chat/pivot-link.ts';

const CODE = 'q3V8tJ0xk1m2n3b4v5c6x7z8a9s0d1f2g3h4j5k6l7A';

/** A location + history pair that behaves like the browser's for replaceState. */
function page(href: string) {
  const calls: Array<{ state: unknown; url: string }> = [];
  const location = { href, hash: new URL(href).hash };
  const history = {
    state: { app: 1 },
    replaceState(state: unknown, _title: string, url?: string | URL | null) {
      calls.push({ state, url: String(url) });
      location.href = new URL(String(url), location.href).href;
      location.hash = new URL(location.href).hash;
    },
  };
  return { location, history, calls };
}

describe('pivot link fragment', () => {
  it('takes the code and strips it from the address bar, keeping path and query', () => {
    const p = page(`https://bank.example/help/cards?lang=en#pivot=${CODE}`);
    expect(takePivotCode(p.location, p.history)).toBe(CODE);
    expect(p.calls).toEqual([{ state: { app: 1 }, url: 'https://bank.example/help/cards?lang=en' }]);
    expect(p.location.href).toBe('https://bank.example/help/cards?lang=en');
    expect(p.location.href).not.toContain(CODE);
  });

  it('keeps the other fragment parameters', () => {
    const p = page(`https://bank.example/#tab=cards&pivot=${CODE}&x=1`);
    expect(takePivotCode(p.location, p.history)).toBe(CODE);
    expect(p.location.href).toBe('https://bank.example/#tab=cards&x=1');
  });

  it('leaves a page without a pivot code alone', () => {
    for (const href of ['https://bank.example/', 'https://bank.example/#top', 'https://bank.example/?pivot=abc', 'https://bank.example/#xpivot=abc']) {
      const p = page(href);
      expect(takePivotCode(p.location, p.history), href).toBeNull();
      expect(p.calls, href).toEqual([]);
    }
  });

  it(`passes on at most PIVOT_CODE_MAX_CHARS (${PIVOT_CODE_MAX_CHARS}) characters, still stripping the rest`, () => {
    const p = page(`https://bank.example/#pivot=${'a'.repeat(5000)}`);
    expect(takePivotCode(p.location, p.history)).toBe('a'.repeat(PIVOT_CODE_MAX_CHARS));
    expect(p.location.href).toBe('https://bank.example/');
  });

  it('still returns the code when the document refuses replaceState', () => {
    const p = page(`https://bank.example/#pivot=${CODE}`);
    const history = { state: null, replaceState: () => { throw new Error('SecurityError'); } };
    expect(takePivotCode(p.location, history)).toBe(CODE);
  });
});
