/**
 * Occlusion and cursor-jacking defence. The host page is untrusted: it can draw a transparent
 * layer over the frame, fade it, filter or transform it, and time a click. So a step's answer
 * (Pay, Save, Confirm, Decline) counts only when
 *
 * 1. the event is trusted (made by the browser from the customer's action, not by script);
 * 2. the customer has really used the frame before (a trusted pointerdown, keydown or input in it);
 * 3. the decision area (the signed summary and the action buttons) has been fully in view and
 *    unobscured, without a break, for at least `VISIBLE_FOR_MS` at that moment, as reported by
 *    IntersectionObserver v2 (`trackVisibility`: Chromium reports `isVisible: false` while
 *    anything covers the frame, or an ancestor applies opacity, a filter or a non-2D transform).
 *
 * The area stays in the frame's own view (the summary sticks to the top of the frame's scroll box,
 * the buttons to its bottom: frame.css) and the widget keeps the frame within its chat, so the check
 * holds at 200 % zoom and on small screens too. What the frame says tells apart an area that is
 * partly out of view ("scroll", `clipped`) from one that something covers (`covered`).
 *
 * The buttons carry `aria-disabled="true"` until then, so the customer sees when the form is
 * ready, and are described (`aria-describedby`, a visually hidden line) by `WAIT_TEXT` meanwhile. A browser without IntersectionObserver v2 cannot tell: see `FAIL_CLOSED_WITHOUT_V2`.
 *
 * Every time the guard uses comes from the frame's own clock, `performance.now()`: the wait starts
 * when the frame's observer callback learns that the area is visible (never earlier than the
 * browser's `entry.time`, so never shorter), and a click counts at its `event.timeStamp`. The
 * button's timer reads the same clock, so the verdict and what the customer sees agree, and a
 * page clock that is held still (the end-to-end tests hold it) holds the whole wait with it.
 *
 * `createGate` is the pure core (entries and times in, a verdict out); `guard` wires it to the
 * DOM.
 *
 * @module
 */

/** How long the decision area must have been fully visible, without a break, before a click counts. */
export const VISIBLE_FOR_MS = 500;
/** IntersectionObserver v2 `delay`: the smallest the API allows with `trackVisibility`. */
export const VISIBILITY_DELAY_MS = 100;
/**
 * What a browser without IntersectionObserver v2 (Firefox, Safari today) gets. `false`: fail
 * open, keeping checks 1 and 2 and the wait after the form is shown (vault/BOUNDARY.md §10);
 * `true`: every answer is refused.
 */
export const FAIL_CLOSED_WITHOUT_V2 = false;

let failClosed = FAIL_CLOSED_WITHOUT_V2;
/** The bank's policy from the frame config (`strictVisibility`), set once at start. */
export function setFailClosed(strict: boolean): void {
  failClosed = strict;
}

/** Why an answer is refused. */
export type Refusal = 'untrusted' | 'no_input' | 'not_visible' | 'unsupported';

/**
 * Why the decision area does not count yet, so that what the frame says is true: `clipped`, part
 * of it (or of the frame) is outside the visible area (scrolled out of the chat, or of the
 * window); `covered`, it is all inside but something is over it, or fades, filters or transforms
 * it; `wait`, nothing is wrong that the frame can see, but it has not been in full view for
 * `VISIBLE_FOR_MS` yet (or not reported yet).
 */
export type Hold = 'clipped' | 'covered' | 'wait';

/** What the frame needs of one IntersectionObserver entry. */
export interface VisibilitySample {
  readonly target: object;
  /** Set by IntersectionObserver v2 only. */
  readonly isVisible?: boolean;
  readonly intersectionRatio: number;
  /** `performance.now()` when the frame learnt of the observation (`guard`: in the observer's callback). */
  readonly time: number;
}

export interface GateOptions {
  /** IntersectionObserver v2 is available. */
  readonly supported: boolean;
  /** Policy when it is not (`FAIL_CLOSED_WITHOUT_V2`). */
  readonly failClosed: boolean;
  /** How many targets are observed; all must be visible. */
  readonly targets: number;
  /** When the form was shown: the start of the wait in fail-open mode. */
  readonly start: number;
}

export interface Gate {
  /** Feed observer entries, in the order received. */
  record(samples: readonly VisibilitySample[]): void;
  /** A trusted pointerdown, keydown or input happened in the frame. */
  input(): void;
  /** When an answer starts to count (visible since + `VISIBLE_FOR_MS`); null while not visible. */
  readyAt(): number | null;
  /** Why an answer made at `now` by an event that is `trusted` or not is refused; null: it counts. */
  refusal(trusted: boolean, now: number): Refusal | null;
  /** The frame's own viewport is (false: is not) wholly inside the visible area. */
  frame(inView: boolean): void;
  /** Why the decision area does not count at `now`; null when it does. Words only: `refusal` decides. */
  hold(now: number): Hold | null;
}

/** The pure core: no DOM, no clock of its own. */
export function createGate(options: GateOptions): Gate {
  const visible = new Map<object, Hold | null>();
  let since: number | null = options.supported || options.failClosed ? null : options.start;
  let interacted = false;
  let frameClipped = false;
  return {
    record(samples) {
      for (const s of samples) {
        // Clipped before covered: a target partly out of view is also reported as not visible.
        visible.set(s.target, s.intersectionRatio < 1 ? 'clipped' : s.isVisible === true ? null : 'covered');
        const all = visible.size >= options.targets && [...visible.values()].every((v) => v === null);
        since = all ? (since ?? s.time) : null;
      }
    },
    frame(inView) {
      frameClipped = !inView;
    },
    hold(now) {
      if (since !== null && now - since >= VISIBLE_FOR_MS) return null;
      const states = [...visible.values()];
      // Chromium reports a frame partly out of view as covered as a whole: say so only when it is all in view.
      return frameClipped || states.includes('clipped') ? 'clipped' : states.includes('covered') ? 'covered' : 'wait';
    },
    input() {
      interacted = true;
    },
    readyAt: () => (since === null ? null : since + VISIBLE_FOR_MS),
    refusal(trusted, now) {
      if (!trusted) return 'untrusted';
      if (!interacted) return 'no_input';
      if (!options.supported && options.failClosed) return 'unsupported';
      return since === null || now - since < VISIBLE_FOR_MS ? 'not_visible' : null;
    },
  };
}

/** What the answer buttons are described by while they wait (`aria-describedby`), before any press. */
export const WAIT_TEXT = 'Available when the form has been fully visible for a moment.';

/** What the customer is told, by refusal. */
export const REFUSAL_TEXT: Readonly<Record<Refusal, string>> = {
  untrusted: 'For your security, press the button yourself to continue.',
  no_input: 'For your security, press the button yourself to continue.',
  not_visible: 'For your security, this form must be fully visible before you can continue. Something on the page is covering it.',
  unsupported: 'This browser cannot show that this form is fully visible. Please continue in an up-to-date Chrome or Edge.',
};

/** The alert for a `not_visible` refusal, by what holds the area: covered is not the same as scrolled. */
export const NOT_VISIBLE_TEXT: Readonly<Record<Hold, string>> = {
  clipped: 'For your security, this form must be fully visible before you can continue. Part of it is out of view: scroll until all of it shows.',
  covered: REFUSAL_TEXT.not_visible,
  wait: 'For your security, this form must be fully visible for a moment before you can continue. Press again when the button is ready.',
};

/** The buttons' description while they wait, by hold. */
export const WAIT_TEXTS: Readonly<Record<Hold, string>> = {
  clipped: 'Available when all of the form is in view: scroll until it shows.',
  covered: 'Available when nothing on the page covers the form.',
  wait: WAIT_TEXT,
};

/**
 * Observe `targets`, keep `buttons`' `aria-disabled` in step with the verdict, and return the
 * check for an answer's event: false (with the reason in `alert`) when it must not count.
 */
export function guard(targets: readonly Element[], buttons: readonly HTMLElement[], alert: HTMLElement): (event: Event) => boolean {
  const doc = alert.ownerDocument;
  const supported = 'isVisible' in IntersectionObserverEntry.prototype;
  const gate = createGate({ supported, failClosed, targets: targets.length, start: performance.now() });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let said: Refusal | null = null;
  // The frame's whole viewport: fixed, hidden, never hit (frame.css).
  let inView = true;
  const view = doc.createElement('div');
  view.className = 'spc-view';
  doc.body.append(view);
  // Says why the buttons wait, to assistive technology, until they are ready (then empty).
  const hint = doc.createElement('p');
  hint.id = 'spc-wait';
  hint.className = 'spc-sr';
  alert.after(hint);
  for (const b of buttons) b.setAttribute('aria-describedby', hint.id);
  const render = (): void => {
    clearTimeout(timer);
    const now = performance.now();
    const at = gate.readyAt();
    const wait = at === null ? -1 : at - now;
    const held = at === null || wait > 0;
    const hold = gate.hold(now) ?? 'wait';
    for (const b of buttons) b.setAttribute('aria-disabled', String(held));
    hint.textContent = !held ? '' : !supported && failClosed ? REFUSAL_TEXT.unsupported : WAIT_TEXTS[hold];
    if (wait > 0) timer = setTimeout(render, wait);
    if (!held) said = null;
    // A refusal on screen follows what the frame sees now (scrolled into view, then covered…).
    const text = said === 'not_visible' ? NOT_VISIBLE_TEXT[hold] : said ? alert.textContent : '';
    if (alert.textContent !== text) alert.textContent = text;
  };
  if (supported) {
    const observer = new IntersectionObserver(
      (entries) => {
        const now = performance.now();
        gate.record(entries.map((e) => ({ target: e.target, isVisible: (e as { isVisible?: boolean }).isVisible, intersectionRatio: e.intersectionRatio, time: now })));
        render();
      },
      // `trackVisibility` and `delay` are IntersectionObserver v2 (not yet in TypeScript's DOM types).
      { threshold: [1], trackVisibility: true, delay: VISIBILITY_DELAY_MS } as IntersectionObserverInit,
    );
    for (const t of targets) observer.observe(t);
    // Chromium reports everything in a frame that is partly scrolled out of the host's view as not
    // visible: the frame's whole viewport, observed too, tells "scroll" from "covered".
    new IntersectionObserver(([e]) => (gate.frame((inView = e!.intersectionRatio >= 0.999)), render()), { threshold: [0.999] }).observe(view);
  }
  // The customer moves into the form (a tap, Tab): a frame partly scrolled out of the host's view
  // comes back into it, centred (an edge flush with the chat's would touch what borders it).
  const show = (): void => void (inView || view.scrollIntoView({ block: 'center' }));
  doc.addEventListener('focusin', show);
  for (const type of ['pointerdown', 'keydown', 'input']) doc.addEventListener(type, (e) => e.isTrusted && gate.input(), true);
  render();
  return (event) => {
    const why = gate.refusal(event.isTrusted, event.timeStamp);
    said = why;
    alert.textContent = why === 'not_visible' ? NOT_VISIBLE_TEXT[gate.hold(event.timeStamp) ?? 'wait'] : why ? REFUSAL_TEXT[why] : '';
    // A frame partly out of the host's view comes back into it (the frame's own scroll is left as
    // is: scrolling to the alert could push the summary out of view).
    if (why) show();
    return !why;
  };
}
