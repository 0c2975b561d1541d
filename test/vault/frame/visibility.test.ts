/**
 * The occlusion and cursor-jacking gate's pure core (vault/frame/visibility.ts), fed synthetic
 * IntersectionObserver v2 entries and times. The wiring in a real browser is covered by
 * test/vault/frame/browser.test.ts and test/e2e/hostile-host.spec.ts.
 */
import { describe, expect, it } from 'vitest';
import { FAIL_CLOSED_WITHOUT_V2, REFUSAL_TEXT, VISIBILITY_DELAY_MS, VISIBLE_FOR_MS, createGate, type VisibilitySample } from '../../../vault/frame/visibility.ts';

const SUMMARY = { name: 'summary' };
const PAY = { name: 'pay' };

const seen = (target: object, time: number, isVisible = true, intersectionRatio = 1): VisibilitySample => ({ target, time, isVisible, intersectionRatio });

/** A v2 gate over the summary and the Pay button, the customer having typed already. */
function gate() {
  const g = createGate({ supported: true, failClosed: false, targets: 2, start: 0 });
  g.input();
  return g;
}

describe('visibility gate', () => {
  it('holds the documented limits', () => {
    expect(VISIBLE_FOR_MS).toBe(500);
    // The API refuses trackVisibility with a delay under 100 ms.
    expect(VISIBILITY_DELAY_MS).toBe(100);
    expect(FAIL_CLOSED_WITHOUT_V2).toBe(false);
  });

  it(`counts an answer only after every target was fully visible for ${VISIBLE_FOR_MS} ms without a break`, () => {
    const g = gate();
    expect(g.refusal(true, 10_000)).toBe('not_visible'); // nothing reported yet
    g.record([seen(SUMMARY, 1000)]);
    expect(g.readyAt()).toBeNull(); // one target of two
    expect(g.refusal(true, 10_000)).toBe('not_visible');
    g.record([seen(PAY, 1200)]);
    expect(g.readyAt()).toBe(1200 + VISIBLE_FOR_MS);
    expect(g.refusal(true, 1200 + VISIBLE_FOR_MS - 1)).toBe('not_visible');
    expect(g.refusal(true, 1200 + VISIBLE_FOR_MS)).toBeNull();
    // A later "still visible" entry does not restart the wait.
    g.record([seen(SUMMARY, 1900)]);
    expect(g.refusal(true, 1200 + VISIBLE_FOR_MS)).toBeNull();
  });

  it('restarts the wait after any break: covered, faded or transformed, or partly out of view', () => {
    for (const broken of [seen(PAY, 2000, false), seen(PAY, 2000, true, 0.98), { target: PAY, time: 2000, intersectionRatio: 1 }]) {
      const g = gate();
      g.record([seen(SUMMARY, 0), seen(PAY, 0)]);
      expect(g.refusal(true, 1999)).toBeNull();
      g.record([broken]);
      expect(g.readyAt()).toBeNull();
      expect(g.refusal(true, 2100)).toBe('not_visible');
      g.record([seen(PAY, 2300)]);
      // Un-covered and clicked at once: refused; VISIBLE_FOR_MS later: counted.
      expect(g.refusal(true, 2310)).toBe('not_visible');
      expect(g.refusal(true, 2300 + VISIBLE_FOR_MS)).toBeNull();
    }
  });

  it('takes the state from the last entry of a batch, in order', () => {
    const g = gate();
    g.record([seen(SUMMARY, 0), seen(PAY, 0), seen(PAY, 100, false), seen(PAY, 200)]);
    expect(g.readyAt()).toBe(200 + VISIBLE_FOR_MS);
    g.record([seen(PAY, 300), seen(SUMMARY, 300, false)]);
    expect(g.readyAt()).toBeNull();
  });

  it('refuses an untrusted event, and any answer before real input in the frame', () => {
    const g = createGate({ supported: true, failClosed: false, targets: 1, start: 0 });
    g.record([seen(PAY, 0)]);
    expect(g.refusal(false, 5000)).toBe('untrusted');
    expect(g.refusal(true, 5000)).toBe('no_input');
    g.input();
    expect(g.refusal(false, 5000)).toBe('untrusted');
    expect(g.refusal(true, 5000)).toBeNull();
  });

  it('without IntersectionObserver v2: fails open after the wait, or closed, by policy', () => {
    const open = createGate({ supported: false, failClosed: false, targets: 2, start: 3000 });
    open.input();
    expect(open.readyAt()).toBe(3000 + VISIBLE_FOR_MS);
    expect(open.refusal(true, 3000 + VISIBLE_FOR_MS - 1)).toBe('not_visible');
    expect(open.refusal(true, 3000 + VISIBLE_FOR_MS)).toBeNull();
    expect(open.refusal(false, 9000)).toBe('untrusted');

    const closed = createGate({ supported: false, failClosed: true, targets: 2, start: 3000 });
    closed.input();
    expect(closed.readyAt()).toBeNull();
    expect(closed.refusal(true, 1e9)).toBe('unsupported');
  });

  it('tells the customer why, in words', () => {
    expect(REFUSAL_TEXT.not_visible).toMatch(/must be fully visible.*covering it/);
    for (const text of Object.values(REFUSAL_TEXT)) expect(text.length).toBeGreaterThan(20);
  });
});
