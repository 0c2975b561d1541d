/**
 * The one script tag a bank adds: `<script src="https://chat.bank.example/widget/loader.js" async>`.
 *
 * At page load it only registers a guard, one MutationObserver (filtered to the `open`
 * attribute) and two capture listeners. It injects `<script type="module"
 * src="<its own directory>/secure-chat.js">` when the browser is idle, or at once when a
 * `<secure-chat>` element is opened (`open` attribute) or interacted with. Nothing is evaluated
 * from strings and nothing inline is created, so it runs under a strict host CSP.
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

type GuardedWindow = Window & { [GUARD]?: boolean };

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
    script.src = bundle;
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
