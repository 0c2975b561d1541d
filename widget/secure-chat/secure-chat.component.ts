/**
 * `<secure-chat>`: the bank's chat widget. Renders the panel and wires two reactive controllers:
 * SessionController (session, chat connection, reconnects, step-up) and StepController (step
 * cards, pivot tokens, vault frames). The list templates live in secure-chat.templates.ts.
 *
 * @module
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { safeParse } from 'valibot';
import { MESSAGE_MAX_CHARS, type IdentityAssertion } from '../../protocol/chat.ts';
import { ThemeSchema } from '../../protocol/frame.ts';
import type { ConnectionStatus } from '../shared/chat-connection.ts';
import { SessionController } from './session-controller.ts';
import { styles } from './secure-chat.styles.ts';
import { renderMessage } from './secure-chat.templates.ts';
import { StepController } from './step-controller.ts';
import { buildTimeline } from './timeline.ts';

/** How close to the end of the log (px) still counts as "at the end" for following new events. */
const NEAR_BOTTOM_PX = 48;
/** Where the panel covers the whole viewport (the styles' media query): there it is a modal dialog. */
const FULL_SCREEN = '(max-width: 480px), (max-height: 700px)';

const STATUS_TEXT: Record<ConnectionStatus | 'idle', string> = {
  idle: '',
  stopped: '',
  connecting: 'Connecting…',
  online: 'Connected',
  offline: 'Reconnecting…',
};

const launcherIcon = html`<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>`;

/**
 * A chat with the bank, embedded by one script tag; collects cards through the vault frame.
 *
 * @event spc-ready - The conversation is connected and its history loaded. `{conversationId, acr}` (conversationId null until the customer's first message)
 * @event spc-login-required - A step needs the bank's login; call `refreshIdentity()` after it. `{stepId, requiredAcr}`
 * @event spc-step-completed - The vault frame reported a step done (UI only). `{stepId, kind, ...}`: `brand, last4` (card), `city, country` (address), `outcome` (transfer)
 * @event spc-error - Something failed. `{code, message}` with a code of protocol/errors.ts
 *
 * @csspart launcher - The button that opens the panel.
 * @csspart panel - The chat panel.
 * @cssproperty --spc-accent - Accent colour (also set by the `accent` attribute).
 * @cssproperty --spc-z-index - Stacking order of the launcher and panel.
 */
export class SecureChat extends LitElement {
  static override styles = styles;
  static override properties = {
    server: {},
    vault: {},
    heading: {},
    open: { type: Boolean, reflect: true },
    locale: {},
    accent: {},
  };

  /** Chat server origin (required). */
  declare server: string | null;
  /** Expected vault origin; a pivot token naming another origin is refused. */
  declare vault: string | null;
  declare heading: string;
  /** Whether the panel is open. */
  declare open: boolean;
  declare locale: string | null;
  /** `#rrggbb`: themes the widget and is pushed to the vault frame. */
  declare accent: string | null;
  /**
   * Set by the bank's page: called with a nonce from the chat server, returns an OIDC id_token
   * of the bank's IdP carrying that nonce for the signed-in customer, or null. (An
   * IdentityAssertion object is accepted too.) Not initialised here, so a value set before the
   * element upgraded is kept.
   */
  declare identityProvider: ((request: { nonce: string }) => Promise<string | IdentityAssertion | null>) | null | undefined;

  #scrollPending = false;
  /** Scrolls the log to its end after the next render; unless `always`, only if it is there already. */
  #follow = (always?: boolean): void => {
    if (always || this.#nearBottom()) this.#scrollPending = true;
  };
  #session = new SessionController(this, this.#follow);
  #steps = new StepController(this, this.#session, this.#follow);
  #fullScreen = matchMedia(FULL_SCREEN);

  constructor() {
    super();
    this.#fullScreen.onchange = () => this.requestUpdate();
    this.server = null;
    this.vault = null;
    this.heading = 'Chat with us';
    this.open = false;
    this.locale = null;
    this.accent = null;
  }

  /**
   * Call after the customer signed in to the bank's page: asks `identityProvider` for an assertion,
   * steps the session up with it, and resumes any payment that was waiting for the login.
   */
  async refreshIdentity(): Promise<void> {
    // Without a session, the next session start asks identityProvider itself.
    if (await this.#session.stepUp()) this.#steps.resume(true);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('server') && changed.get('server') != null) this.#session.reset();
    if (changed.has('accent')) {
      if (this.accent && safeParse(ThemeSchema, { accent: this.accent }).success) this.style.setProperty('--spc-accent', this.accent);
      else this.style.removeProperty('--spc-accent');
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if ((changed.has('open') || changed.has('server')) && this.open && this.isConnected) this.#session.start();
    // Full screen, the panel is modal (showModal: the page behind is inert, Tab stays inside);
    // otherwise non-modal, opened by its attribute (show() would move the keyboard into it).
    const panel = this.renderRoot.querySelector('dialog')!;
    const active = (this.renderRoot as ShadowRoot).activeElement as HTMLElement | null;
    const modal = this.open && this.#fullScreen.matches;
    if (panel.open && (!this.open || modal !== panel.matches(':modal'))) panel.close();
    if (this.open && !panel.open) {
      if (modal) panel.showModal();
      else panel.setAttribute('open', '');
      // Switched between the two (a rotated phone): the keyboard stays where it was.
      active?.focus();
    }
    if (this.#scrollPending) {
      this.#scrollPending = false;
      const log = this.renderRoot.querySelector('.log');
      if (log) log.scrollTop = log.scrollHeight;
    }
  }

  /** True when the log is scrolled to (within a line of) its end, measured before a render. */
  #nearBottom(): boolean {
    const log = this.renderRoot?.querySelector('.log');
    if (!log) return true;
    return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
  }

  // ------------------------------------------------------------------ UI

  #toggle = (): void => {
    this.open = !this.open;
    if (this.open) void this.updateComplete.then(() => this.#input()?.focus());
  };

  #close = (): void => {
    this.open = false;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>('.launcher')?.focus());
  };

  #onPanelKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape') this.#close();
  };

  #onInputKey = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.#sendInput();
    }
  };

  #onSubmit = (event: Event): void => {
    event.preventDefault();
    this.#sendInput();
  };

  #input(): HTMLTextAreaElement | null {
    return this.renderRoot.querySelector('textarea');
  }

  #sendInput(): void {
    const input = this.#input();
    const text = input?.value.trim() ?? '';
    if (!input || !text) return;
    this.#session.send(text);
    input.value = '';
    this.#scrollPending = true;
    this.requestUpdate();
  }

  protected override render(): TemplateResult {
    const { sync, status, notice, pivotError } = this.#session;
    const items = buildTimeline(sync?.events ?? [], sync?.pending ?? []);
    const heading = this.heading || 'Chat';
    return html`
      <button
        class="launcher"
        part="launcher"
        data-testid="chat-launcher"
        aria-expanded=${this.open ? 'true' : 'false'}
        aria-controls="panel"
        aria-label=${this.open ? `Close chat: ${heading}` : `Open chat: ${heading}`}
        @click=${this.#toggle}
      >${launcherIcon}<span aria-hidden="true">Chat</span></button>
      <dialog
        id="panel"
        class="panel"
        part="panel"
        aria-modal=${this.open && this.#fullScreen.matches}
        aria-labelledby="title"
        data-testid="chat-panel"
        ?hidden=${!this.open}
        @keydown=${this.#onPanelKey}
        @cancel=${this.#close}
      >
        <header>
          <h2 id="title">${heading}</h2>
          <span class="status" role="status" data-testid="chat-status" data-status=${status}>${STATUS_TEXT[status]}</span>
          <button class="close" type="button" aria-label="Close chat" data-testid="chat-close" @click=${this.#close}>×</button>
        </header>
        <div class="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0" data-testid="chat-log">
          ${items.map((item) => (item.kind === 'message' ? renderMessage(item) : this.#steps.card(item)))}
        </div>
        ${pivotError ? html`<p class="notice" role="alert" data-testid="pivot-error">${pivotError}</p>` : nothing}
        ${notice ? html`<p class="notice" role="alert" data-testid="chat-notice">${notice}</p>` : nothing}
        <form @submit=${this.#onSubmit}>
          <label class="sr-only" for="input">Message</label>
          <textarea id="input" rows="2" maxlength=${MESSAGE_MAX_CHARS} placeholder="Write a message…" data-testid="chat-input" @keydown=${this.#onInputKey}></textarea>
          <button class="primary" type="submit" data-testid="chat-send">Send</button>
        </form>
      </dialog>
    `;
  }
}
