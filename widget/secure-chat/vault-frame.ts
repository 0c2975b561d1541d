/**
 * Hosts one vault frame for one step: creates the iframe (size reserved before it loads), hands it
 * two MessagePorts with a single `connect` to the exact vault origin, calls `begin` over Comlink,
 * and turns the frame's validated events into {@link VaultFrameUpdate}s for the card UI.
 *
 * The frame may be created before the pivot token is known (when the page configured the vault
 * origin), so that loading the frame overlaps fetching the token; `begin` goes out once both the
 * port and the arguments are there.
 *
 * The host never reads the frame's DOM or any value other than the validated `begin` result and
 * events; card data stays inside the vault origin.
 *
 * @module
 */
import { wrap, type Remote } from 'comlink';
import { FRAME_INITIAL_HEIGHT_PX, type BeginArgs, type DisplayInfo, type FrameApi, type FrameEvent } from '../../protocol/frame.ts';
import { clampFrameHeight, frameUrl, parseBeginResult, parseFrameEvent, postConnect } from './frame-messages.ts';

/** If the frame has not loaded and answered `begin` within this many milliseconds, give up. */
export const FRAME_BEGIN_TIMEOUT_MS = 15_000;

export type VaultFrameUpdate =
  | { readonly type: 'begun'; readonly display: DisplayInfo }
  | { readonly type: 'ready' }
  /** The step is done; what may be shown of it depends on its kind. */
  | { readonly type: 'complete'; readonly event: Extract<FrameEvent, { type: 'complete' }> }
  /** `fatal`: the frame cannot continue (bad token, no answer); the host should remove it. */
  | { readonly type: 'error'; readonly code: string; readonly message: string; readonly fatal: boolean }
  /** The customer pressed Escape in the frame: the owner closes the form. */
  | { readonly type: 'dismiss' };

export interface VaultFrameOptions {
  /** Exact vault origin, already checked against the page's configuration. */
  readonly vaultOrigin: string;
  readonly stepId: string;
  /** The frame's accessible name: its step kind's (e.g. "Secure card payment"). */
  readonly title: string;
  /** The `begin` arguments, if already known; otherwise pass them to {@link VaultFrame.begin} later. */
  readonly args?: BeginArgs;
  readonly onUpdate: (update: VaultFrameUpdate) => void;
}

export class VaultFrame {
  /** The iframe; the owner inserts it into the step card. */
  readonly iframe: HTMLIFrameElement;
  #options: VaultFrameOptions;
  #rpc: MessageChannel | null = null;
  #events: MessageChannel | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #destroyed = false;
  #begun = false;
  /** Until the frame has rendered its form, the reserved height stands (no shrink-then-grow jump). */
  #ready = false;
  #args: BeginArgs | null;
  #api: Remote<FrameApi> | null = null;
  #beginSent = false;

  constructor(options: VaultFrameOptions) {
    this.#options = options;
    this.#args = options.args ?? null;
    const iframe = document.createElement('iframe');
    // Sandbox and policy attributes first: they apply to the navigation that `src` starts.
    iframe.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
    // The customer's passkey is created and used inside the frame, for the vault's origin only
    // (an allow-list entry with no origin means the frame's own `src` origin).
    iframe.allow = 'payment; publickey-credentials-get; publickey-credentials-create';
    iframe.referrerPolicy = 'no-referrer';
    iframe.loading = 'eager';
    iframe.title = options.title;
    iframe.dataset.testid = 'vault-frame';
    // Reserved before load so the card does not jump. CSSOM, not a style attribute: strict CSP.
    iframe.style.height = `${FRAME_INITIAL_HEIGHT_PX}px`;
    iframe.addEventListener('load', () => this.#connect());
    iframe.src = frameUrl(options.vaultOrigin);
    this.iframe = iframe;
    this.#arm();
  }

  /** Supplies the `begin` arguments (once); sent as soon as the frame is connected. */
  begin(args: BeginArgs): void {
    this.#args ??= args;
    this.#maybeBegin();
  }

  /** Closes both ports and removes the iframe. Idempotent; no update is delivered afterwards. */
  destroy(): void {
    this.#destroyed = true;
    clearTimeout(this.#timer);
    this.#closePorts();
    this.iframe.remove();
  }

  /** Each load of a frame document gets its own ports and exactly one `connect`. */
  #connect(): void {
    if (this.#destroyed) return;
    const target = this.iframe.contentWindow;
    if (!target) return;
    this.#closePorts();
    const rpc = new MessageChannel();
    const events = new MessageChannel();
    this.#rpc = rpc;
    this.#events = events;
    events.port1.onmessage = (message) => {
      if (this.#events !== events) return;
      const event = parseFrameEvent(message.data);
      if (event) this.#onEvent(event);
    };
    try {
      postConnect(target, this.#options.vaultOrigin, [rpc.port2, events.port2]);
    } catch {
      this.#fail('VAULT_FRAME_UNAVAILABLE', 'The secure payment form could not be started.');
      return;
    }
    this.#api = wrap<FrameApi>(rpc.port1);
    this.#beginSent = false;
    // Loaded: waiting for the token is the owner's business; the deadline restarts with begin.
    clearTimeout(this.#timer);
    this.#maybeBegin();
  }

  #maybeBegin(): void {
    const rpc = this.#rpc;
    if (!this.#api || !this.#args || this.#beginSent || this.#destroyed) return;
    this.#beginSent = true;
    this.#arm();
    this.#api.begin(this.#args).then(
      (result: unknown) => {
        if (this.#destroyed || this.#rpc !== rpc) return;
        clearTimeout(this.#timer);
        const parsed = parseBeginResult(result);
        if (!parsed) {
          this.#fail('VAULT_RESPONSE_INVALID', 'The secure payment form answered unexpectedly.');
        } else if (!parsed.ok) {
          this.#fail(parsed.error.code, parsed.error.message);
        } else if (parsed.display.stepId !== this.#options.stepId) {
          this.#fail('VAULT_RESPONSE_INVALID', 'The secure payment form shows another payment.');
        } else {
          this.#begun = true;
          this.#options.onUpdate({ type: 'begun', display: parsed.display });
        }
      },
      () => {
        if (this.#destroyed || this.#rpc !== rpc) return;
        this.#fail('VAULT_FRAME_UNAVAILABLE', 'The secure payment form could not be started.');
      },
    );
  }

  #onEvent(event: NonNullable<ReturnType<typeof parseFrameEvent>>): void {
    if (this.#destroyed) return;
    switch (event.type) {
      case 'ready':
        this.#ready = true;
        this.#resize(event.height);
        this.#options.onUpdate({ type: 'ready' });
        break;
      case 'resize':
        // Heights measured before the form exists (an empty page) would shrink the reserved space.
        if (this.#ready) this.#resize(event.height);
        break;
      case 'complete':
        if (this.#begun) this.#options.onUpdate({ type: 'complete', event });
        break;
      case 'error':
        this.#options.onUpdate({ type: 'error', code: event.error.code, message: event.error.message, fatal: false });
        break;
      case 'dismiss':
        if (this.#begun) this.#options.onUpdate(event);
        break;
      case 'change':
        // Field state is shown inside the frame; the host has no use for it.
        break;
    }
  }

  #resize(height: number): void {
    this.iframe.style.height = `${clampFrameHeight(height)}px`;
  }

  /** (Re)starts the watchdog: load + begin must finish in time. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => this.#fail('VAULT_FRAME_UNAVAILABLE', 'The secure payment form did not load.'),
      FRAME_BEGIN_TIMEOUT_MS,
    );
  }

  #fail(code: string, message: string): void {
    if (this.#destroyed) return;
    this.destroy();
    this.#options.onUpdate({ type: 'error', code, message, fatal: true });
  }

  #closePorts(): void {
    for (const channel of [this.#rpc, this.#events]) {
      if (!channel) continue;
      channel.port1.onmessage = null;
      channel.port1.close();
    }
    this.#rpc = this.#events = null;
    this.#api = null;
  }
}
