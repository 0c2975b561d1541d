/**
 * The one script tag a bank adds: `<script src="https://chat.bank.example/widget/loader.js" async>`.
 *
 * At page load it only registers a guard, one MutationObserver (filtered to the `open`
 * attribute) and two capture listeners. It injects `<script type="module"
 * src="<its own directory>/secure-chat.js">` when the browser is idle, or at once when a
 * `<secure-chat>` element is opened (`open` attribute) or interacted with. Nothing is evaluated
 * from strings and nothing inline is created, so it runs under a strict host CSP.
 *
 * Under Trusted Types (`require-trusted-types-for 'script'`), the one sink it uses, `script.src`,
 * gets its value from a policy named `secure-chat-loader` whose `createScriptURL` accepts only
 * that bundle's URL. A page must list that name in its `trusted-types` directive, with `lit-html`
 * for the widget (docs/merchant-hardening.md). Without Trusted Types, or when the page does not
 * allow the name, the URL is a plain string (the page's `default` policy, if any, decides).
 *
 * Including it twice is harmless: the second copy sees the guard and does nothing.
 *
 * @module
 */

const GUARD = '__securePivotChatLoader';
const TAG = 'secure-chat';
/** The widget bundle, relative to the loader's own URL. */
const BUNDLE = 'secure-chat.js';
/** Idle callbacks may wait at most this long, in milliseconds. */
const IDLE_TIMEOUT_MS = 3000;
/** The Trusted Types policy that makes the bundle's URL a TrustedScriptURL. */
const LOADER_POLICY = 'secure-chat-loader';

/** The part of the Trusted Types API the loader uses (not yet in TypeScript's DOM types). */
interface TrustedTypesLike {
  createPolicy(name: string, rules: { createScriptURL(url: string): string }): { createScriptURL(url: string): string };
}
type GuardedWindow = Window & { [GUARD]?: boolean; trustedTypes?: TrustedTypesLike };

function ownSource(): string | null {
  const current = document.currentScript as HTMLScriptElement | null;
  if (current?.src) return current.src;
  // Loaded in a way that hides currentScript (e.g. as a module): find the tag by its file name.
  for (const script of document.querySelectorAll<HTMLScriptElement>('script[src]')) {
    if (/\/loader\.js(?:[?#]|$)/.test(script.src)) return script.src;
  }
  return null;
}

function install(): void {
  const win = window as GuardedWindow;
  if (win[GUARD]) return;
  win[GUARD] = true;
  const source = ownSource();
  if (!source) return;
  const bundle = new URL(BUNDLE, source).href;
  const triggers = ['pointerdown', 'focusin'] as const;
  let done = false;

  const load = (): void => {
    if (done) return;
    done = true;
    observer.disconnect();
    for (const type of triggers) document.removeEventListener(type, onInteract, true);
    if (customElements.get(TAG)) return;
    const script = document.createElement('script');
    script.type = 'module';
    let url = bundle;
    try {
      url = win.trustedTypes!.createPolicy(LOADER_POLICY, {
        createScriptURL: (value) => {
          if (value !== bundle) throw new TypeError(value);
          return value;
        },
      }).createScriptURL(bundle);
    } catch {
      // No Trusted Types here, or the page does not allow the name: a plain string.
    }
    script.src = url;
    document.head.append(script);
  };
  const loadIfOpen = (): void => {
    if (document.querySelector(`${TAG}[open]`)) load();
  };
  const onInteract = (event: Event): void => {
    if (event.composedPath().some((node) => (node as Element).localName === TAG)) load();
  };

  const observer = new MutationObserver(loadIfOpen);
  observer.observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ['open'] });
  for (const type of triggers) document.addEventListener(type, onInteract, true);
  loadIfOpen();
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', loadIfOpen, { once: true });
  if (typeof requestIdleCallback === 'function') requestIdleCallback(load, { timeout: IDLE_TIMEOUT_MS });
  else setTimeout(load, 1);
}

install();
