/**
 * `<secure-chat>`: the bank's chat widget. Owns the UI and the wiring between the session, the
 * chat connection (ChatConnection + ChatSync) and vault frames (VaultFrame); each of those lives
 * in its own file, the list templates in secure-chat.templates.ts. This file is past 400 lines
 * because the session lifecycle and the step flow (pay -> step-up -> frame) share the element's
 * state and its teardown; split them and every async step would need the other's generation check.
 *
 * @module
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { safeParse } from 'valibot';
import { CustomerServerFrameSchema, MESSAGE_MAX_CHARS, type IdentityAssertion, type ServerFrame, type SessionResponse } from '../../protocol/chat.ts';
import { LocaleSchema, ThemeSchema, type BeginArgs } from '../../protocol/frame.ts';
import { acrAtLeast, type Acr } from '../../protocol/pivot-token.ts';
import { CUSTOMER_VIEWS, type StepKind } from '../../protocol/steps/index.ts';
import { backoffDelay } from '../shared/backoff.ts';
import { ChatConnection, type ConnectionStatus } from '../shared/chat-connection.ts';
import { ChatSync } from '../shared/chat-sync.ts';
import { RequestError } from '../shared/rest.ts';
import { createSession, redeemPivotLink, requestNonce, requestPivotToken, stepUp, webSocketUrl } from './chat-api.ts';
import { emit } from './events.ts';
import { originOf } from './frame-messages.ts';
import { takePivotCode } from './pivot-link.ts';
import { clearSession, loadSession, saveSession, type StoredSession } from './session-store.ts';
import { styles } from './secure-chat.styles.ts';
import { renderMessage, renderStep, type StepView } from './secure-chat.templates.ts';
import { buildTimeline, openSteps, stepResult } from './timeline.ts';
import type { VaultFrame, VaultFrameUpdate } from './vault-frame.ts';

/**
 * The vault frame's host code (and Comlink) is not part of the chat's first open: it is loaded
 * when the first step needs a frame, once per page.
 */
let vaultFrameCode: Promise<typeof import('./vault-frame.ts')> | undefined;

/** Consecutive "session refused -> new session" rounds before the widget gives up. */
export const MAX_SESSION_RESTARTS = 3;
/** How close to the end of the log (px) still counts as "at the end" for following new events. */
const NEAR_BOTTOM_PX = 48;

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

  #session: StoredSession | null = null;
  #sessionServer: string | null = null;
  #sync: ChatSync | null = null;
  #connection: ChatConnection | null = null;
  #status: ConnectionStatus | 'idle' = 'idle';
  #starting = false;
  #startAttempt = 0;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #restarts = 0;
  /** Bumped on every teardown: async work started before it must not touch the new state. */
  #generation = 0;
  #readyFired = false;
  #notice: string | null = null;
  /** A pivot link's code taken from the address bar, until it is redeemed. */
  #pivotCode: string | null = null;
  #pivotError: string | null = null;
  #steps = new Map<string, StepView>();
  #frames = new Map<string, VaultFrame>();
  /** The frame host's class, once its code is loaded (see vaultFrameCode). */
  #VaultFrame: typeof VaultFrame | undefined;
  #awaitingStepUp = new Set<string>();
  #completedEmitted = new Set<string>();
  #scrollPending = false;

  constructor() {
    super();
    this.server = null;
    this.vault = null;
    this.heading = 'Chat with us';
    this.open = false;
    this.locale = null;
    this.accent = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const server = originOf(this.server);
    this.#pivotCode ??= takePivotCode(location, history);
    // A pivot link continues its conversation in an open panel.
    if (this.#pivotCode) this.open = true;
    // Continue a stored conversation right away; a new one starts when the panel first opens.
    if (this.open || (server && loadSession(server))) this.#start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#teardown();
  }

  /**
   * Call after the customer signed in to the bank's page: asks `identityProvider` for an assertion,
   * steps the session up with it, and resumes any payment that was waiting for the login.
   */
  async refreshIdentity(): Promise<void> {
    const server = originOf(this.server);
    if (!server || !this.#session) return; // the next session start asks identityProvider itself
    const assertion = await this.#assertion();
    if (!assertion || !(await this.#stepUp(server, assertion))) return;
    this.#resumeAwaiting(true);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('server') && changed.get('server') != null) {
      this.#teardown();
      this.#session = this.#sync = null;
    }
    if (changed.has('accent')) {
      if (this.accent && safeParse(ThemeSchema, { accent: this.accent }).success) this.style.setProperty('--spc-accent', this.accent);
      else this.style.removeProperty('--spc-accent');
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if ((changed.has('open') || changed.has('server')) && this.open && this.isConnected) this.#start();
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

  // ------------------------------------------------------------------ session + connection

  #start(): void {
    if (this.#connection || this.#starting) return;
    const server = originOf(this.server);
    if (!server) {
      this.#fail('WIDGET_CONFIG_INVALID', 'The chat is not configured: the server attribute is missing or not an origin.');
      return;
    }
    clearTimeout(this.#startTimer);
    this.#starting = true;
    this.#sync ??= this.#newSync();
    let generation = this.#generation;
    void (async () => {
      try {
        const code = this.#pivotCode;
        if (code) {
          try {
            const redeemed = await redeemPivotLink(server, code);
            if (generation !== this.#generation) return;
            this.#pivotCode = null;
            this.#adopt(server, redeemed);
            // Another conversation was open: #adopt reset the view; this start carries on.
            generation = this.#generation;
            this.#starting = true;
          } catch (error) {
            const failure = asRequestError(error);
            // Unreachable: retried with the start. Refused: the stored or a new session goes on.
            if (failure.status === 0 || failure.status >= 500) throw error;
            this.#pivotCode = null;
            this.#pivotError = failure.message;
            emit(this, 'spc-error', { code: failure.code, message: failure.message });
          }
        }
        if (!this.#session || this.#sessionServer !== server) {
          const stored = loadSession(server);
          const session = stored ?? (await createSession(server, {}));
          if (generation !== this.#generation) return;
          this.#adopt(server, session);
        }
        if (generation !== this.#generation) return;
        this.#startAttempt = 0;
        this.#connect(server);
        // Signed in on the bank's page already: raise the conversation to `bank` in the background.
        if (this.#session?.acr !== 'bank' && typeof this.identityProvider === 'function') void this.#silentStepUp(server);
      } catch (error) {
        if (generation !== this.#generation) return;
        const failure = asRequestError(error);
        this.#fail(failure.code, failure.message);
        // Transient (or too many new sessions from this address): try again later. Another 4xx
        // (e.g. origin not allowed) needs the bank to act.
        if (failure.status === 0 || failure.status === 429 || failure.status >= 500) {
          this.#status = 'offline';
          this.#startTimer = setTimeout(() => this.#start(), backoffDelay(this.#startAttempt++));
        }
      } finally {
        if (generation === this.#generation) this.#starting = false;
      }
    })();
  }

  #newSync(): ChatSync {
    return new ChatSync((frame) => this.#connection?.send(frame));
  }

  /** Takes a session (new, stored or stepped-up); a different conversation resets the view. */
  #adopt(server: string, session: SessionResponse | StoredSession): void {
    const { session: token, conversationId, acr, expiresAt } = session;
    if (this.#session && this.#session.conversationId !== conversationId) {
      const unsent = this.#sync?.outbox ?? [];
      this.#teardown();
      this.#sync = this.#newSync();
      for (const item of unsent) this.#sync.send(item.text);
      this.#steps.clear();
    }
    this.#session = { session: token, conversationId, acr, expiresAt };
    this.#sessionServer = server;
    saveSession(server, this.#session);
  }

  #connect(server: string): void {
    const connection = new ChatConnection({
      frames: CustomerServerFrameSchema,
      url: () => webSocketUrl(server, this.#session?.session ?? ''),
      onOpen: () => this.#sync?.opened(),
      onFrame: (frame) => this.#onFrame(frame),
      onClose: () => this.#sync?.closed(),
      onStatus: (status) => {
        this.#status = status;
        this.requestUpdate();
      },
      onUnauthorized: () => this.#restartSession(server),
    });
    this.#connection = connection;
    connection.start();
  }

  /** The server no longer accepts the session: start a new conversation (bounded). */
  #restartSession(server: string): void {
    clearSession(server);
    const unsent = this.#sync?.outbox ?? [];
    this.#teardown();
    this.#session = null;
    this.#sync = this.#newSync();
    for (const item of unsent) this.#sync.send(item.text);
    this.#steps.clear();
    if (++this.#restarts > MAX_SESSION_RESTARTS) {
      this.#fail('SESSION_EXPIRED', 'The chat could not start a session. Please reload the page.');
      return;
    }
    this.#start();
  }

  /** Stops the socket and removes every frame and port; session and history are kept. */
  #teardown(): void {
    this.#generation++;
    this.#starting = false;
    this.#readyFired = false;
    clearTimeout(this.#startTimer);
    this.#connection?.stop();
    this.#connection = null;
    this.#sync?.closed();
    this.#status = 'idle';
    for (const frame of this.#frames.values()) frame.destroy();
    this.#frames.clear();
    for (const [id, view] of this.#steps) if (view.phase !== 'done') this.#steps.delete(id);
    this.#awaitingStepUp.clear();
    this.requestUpdate();
  }

  #onFrame(frame: ServerFrame): void {
    const sync = this.#sync;
    if (!sync) return;
    const wasLive = sync.live;
    if (frame.type === 'hello' && frame.acr) this.#setAcr(frame.acr);
    if (frame.type === 'session') this.#setAcr(frame.acr);
    // The first message created the conversation (or a replay shows it): remember it, so a later
    // step-up naming it is not taken for a move to another conversation. Storage may keep null:
    // the replay after a reload shows it again before spc-ready.
    if (frame.type === 'event' && this.#session && !this.#session.conversationId) this.#session = { ...this.#session, conversationId: frame.event.conversationId };
    const update = sync.receive(frame);
    for (const event of update.events) {
      if (event.kind === 'step' && wasLive) {
        // A live request: open the panel and start the payment right away.
        this.open = true;
        void this.#pay(event.step.id);
      } else if (event.kind === 'step_completed') {
        this.#dropFrame(event.stepId);
        this.#awaitingStepUp.delete(event.stepId);
        this.#steps.set(event.stepId, { phase: 'done', result: stepResult(event) ?? undefined });
      }
    }
    if (update.replayed) {
      this.#restarts = 0;
      this.#notice = null;
      if (!this.#readyFired && this.#session) {
        this.#readyFired = true;
        emit(this, 'spc-ready', { conversationId: this.#session.conversationId, acr: this.#session.acr });
      }
    }
    if (update.error) this.#fail(update.error.code, update.error.message);
    // Follow new events only when the reader is already at the end of the log: a customer
    // scrolled up, or typing in a card form, must not have the page jump under the cursor.
    if ((update.events.length || update.pendingChanged) && this.#nearBottom()) this.#scrollPending = true;
    this.requestUpdate();
  }

  #setAcr(acr: Acr): void {
    if (!this.#session || !this.#sessionServer) return;
    this.#session = { ...this.#session, acr };
    saveSession(this.#sessionServer, this.#session);
    // Stepped up elsewhere (another tab, the page's own call): continue what was waiting.
    if (this.#awaitingStepUp.size) this.#resumeAwaiting(false);
  }

  /** Asks the page for an id_token carrying a fresh nonce of this session; null if none. */
  async #assertion(): Promise<IdentityAssertion | null> {
    const provider = this.identityProvider;
    const server = this.#sessionServer;
    const session = this.#session;
    if (typeof provider !== 'function' || !server || !session) return null;
    try {
      const answer = await provider({ nonce: await requestNonce(server, session.session) });
      return typeof answer === 'string' ? { type: 'oidc', idToken: answer } : (answer ?? null);
    } catch {
      return null;
    }
  }

  async #stepUp(server: string, assertion: IdentityAssertion): Promise<boolean> {
    const session = this.#session;
    if (!session) return false;
    try {
      this.#adopt(server, await stepUp(server, session.session, assertion));
      // A different conversation came back: #adopt tore the old one down; connect to the new one.
      if (!this.#connection && this.isConnected) this.#start();
      this.requestUpdate();
      return true;
    } catch (error) {
      const failure = asRequestError(error);
      this.#fail(failure.code, failure.message);
      // Only a refused session starts over; a refused id_token (also 401) keeps the conversation.
      if (failure.code === 'UNAUTHENTICATED' || failure.code === 'SESSION_EXPIRED') this.#restartSession(server);
      return false;
    }
  }

  /** Retries the steps that waited for a login; unless `force`, only those the acr now allows. */
  #resumeAwaiting(force: boolean): void {
    const open = openSteps(this.#sync?.events ?? []);
    for (const stepId of this.#awaitingStepUp) {
      const step = open.get(stepId);
      if (!force && step && this.#session && !acrAtLeast(this.#session.acr, step.requiredAcr)) continue;
      this.#awaitingStepUp.delete(stepId);
      this.#steps.delete(stepId);
      void this.#pay(stepId);
    }
  }

  // ------------------------------------------------------------------ steps

  async #pay(stepId: string): Promise<void> {
    const server = this.#sessionServer;
    const session = this.#session;
    const step = openSteps(this.#sync?.events ?? []).get(stepId);
    const phase = this.#steps.get(stepId)?.phase;
    if (!server || !session || !step || phase === 'loading' || phase === 'frame' || phase === 'done') return;
    const generation = this.#generation;
    this.#setStep(stepId, { phase: 'loading' });
    try {
      this.#VaultFrame ??= (await (vaultFrameCode ??= import('./vault-frame.ts'))).VaultFrame;
    } catch {
      vaultFrameCode = undefined;
      if (generation !== this.#generation) return;
      const message = 'The secure payment form could not be started.';
      this.#setStep(stepId, { phase: 'error', message });
      this.#fail('VAULT_FRAME_UNAVAILABLE', message, false);
      return;
    }
    if (generation !== this.#generation) return;
    // The step names the level it needs: step up first (silently, if the page's login already
    // vouches for the customer) instead of collecting a predictable 403.
    let silentTried = false;
    if (!acrAtLeast(session.acr, step.requiredAcr)) {
      silentTried = true;
      if (!(await this.#silentStepUp(server))) {
        if (generation === this.#generation) this.#needLogin(stepId, step.requiredAcr);
        return;
      }
    }
    // With the vault origin configured, the frame loads while the token is fetched.
    const configured = originOf(this.vault);
    if (configured) this.#openFrame(stepId, configured, step.step.kind);
    let response;
    for (;;) {
      if (generation !== this.#generation) return;
      try {
        response = await requestPivotToken(server, this.#session?.session ?? session.session, stepId);
        break;
      } catch (error) {
        if (generation !== this.#generation) return;
        this.#dropFrame(stepId);
        const failure = asRequestError(error);
        if (failure.code === 'STEP_UP_REQUIRED') {
          if (!silentTried) {
            silentTried = true;
            if (await this.#silentStepUp(server)) {
              if (configured && generation === this.#generation) this.#openFrame(stepId, configured, step.step.kind);
              continue;
            }
          }
          if (generation === this.#generation) this.#needLogin(stepId, step.requiredAcr);
          return;
        }
        this.#setStep(stepId, { phase: 'error', message: failure.message });
        this.#fail(failure.code, failure.message, false);
        if (failure.status === 401) this.#restartSession(server);
        return;
      }
    }
    if (generation !== this.#generation) return;
    const named = originOf(response.vaultOrigin);
    if (!named || named !== (this.vault ? configured : named)) {
      this.#dropFrame(stepId);
      const message = 'The payment form is hosted on an unexpected origin; it was not opened.';
      this.#setStep(stepId, { phase: 'error', message });
      this.#fail('VAULT_ORIGIN_MISMATCH', message, false);
      return;
    }
    (this.#frames.get(stepId) ?? this.#openFrame(stepId, named, step.step.kind)).begin(this.#beginArgs(response.token));
  }

  #openFrame(stepId: string, vaultOrigin: string, kind: StepKind): VaultFrame {
    const frame: VaultFrame = new this.#VaultFrame!({
      vaultOrigin,
      stepId,
      title: CUSTOMER_VIEWS[kind].frameTitle,
      onUpdate: (update) => this.#onFrameUpdate(stepId, frame, update),
    });
    this.#frames.set(stepId, frame);
    this.#setStep(stepId, { phase: 'frame' });
    this.#scrollPending = true;
    return frame;
  }

  #dropFrame(stepId: string): void {
    this.#frames.get(stepId)?.destroy();
    this.#frames.delete(stepId);
  }

  /** Steps up with the page's current identity, if it has one; true when the session now has it. */
  async #silentStepUp(server: string): Promise<boolean> {
    const assertion = await this.#assertion();
    return !!assertion && (await this.#stepUp(server, assertion));
  }

  #needLogin(stepId: string, requiredAcr: Acr): void {
    this.#awaitingStepUp.add(stepId);
    this.#setStep(stepId, { phase: 'login' });
    emit(this, 'spc-login-required', { stepId, requiredAcr });
  }

  #beginArgs(token: string): BeginArgs {
    const args: BeginArgs = { token };
    if (this.locale && safeParse(LocaleSchema, this.locale).success) args.locale = this.locale;
    if (this.accent && safeParse(ThemeSchema, { accent: this.accent }).success) args.theme = { accent: this.accent };
    return args;
  }

  #onFrameUpdate(stepId: string, frame: VaultFrame, update: VaultFrameUpdate): void {
    if (this.#frames.get(stepId) !== frame) return;
    const current = this.#steps.get(stepId);
    switch (update.type) {
      case 'begun':
        return;
      case 'ready':
        this.#setStep(stepId, { phase: 'frame', ready: true });
        return;
      case 'complete': {
        frame.destroy();
        this.#frames.delete(stepId);
        const result = stepResult(update.event);
        this.#setStep(stepId, { phase: 'done', result: result ?? undefined });
        if (result && !this.#completedEmitted.has(stepId)) {
          this.#completedEmitted.add(stepId);
          emit(this, 'spc-step-completed', { stepId, ...result });
        }
        return;
      }
      case 'error':
        if (update.fatal) {
          this.#frames.delete(stepId);
          this.#setStep(stepId, { phase: 'error', message: update.message });
        } else {
          this.#setStep(stepId, { ...current, phase: 'frame', message: update.message });
        }
        this.#fail(update.code, update.message, false);
        return;
    }
  }

  #setStep(stepId: string, view: StepView): void {
    this.#steps.set(stepId, view);
    this.requestUpdate();
  }

  /** Reports an error on the element; `notice` also shows it in the panel. */
  #fail(code: string, message: string, notice = true): void {
    if (notice) this.#notice = message;
    emit(this, 'spc-error', { code, message });
    this.requestUpdate();
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
    this.#start();
    const sync = (this.#sync ??= this.#newSync());
    sync.send(text.slice(0, MESSAGE_MAX_CHARS));
    input.value = '';
    this.#notice = this.#pivotError = null;
    this.#scrollPending = true;
    this.requestUpdate();
  }

  protected override render(): TemplateResult {
    const items = buildTimeline(this.#sync?.events ?? [], this.#sync?.pending ?? []);
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
      <section
        id="panel"
        class="panel"
        part="panel"
        role="dialog"
        aria-modal="false"
        aria-labelledby="title"
        data-testid="chat-panel"
        ?hidden=${!this.open}
        @keydown=${this.#onPanelKey}
      >
        <header>
          <h2 id="title">${heading}</h2>
          <span class="status" role="status" data-testid="chat-status" data-status=${this.#status}>${STATUS_TEXT[this.#status]}</span>
          <button class="close" type="button" aria-label="Close chat" data-testid="chat-close" @click=${this.#close}>×</button>
        </header>
        <div class="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0" data-testid="chat-log">
          ${items.map((item) => {
            if (item.kind === 'message') return renderMessage(item);
            const id = item.step.id;
            const view = this.#steps.get(id) ?? { phase: 'idle' };
            return renderStep(item, view, this.#frames.get(id)?.iframe, this.locale, () => void this.#pay(id));
          })}
        </div>
        ${this.#pivotError ? html`<p class="notice" role="alert" data-testid="pivot-error">${this.#pivotError}</p>` : nothing}
        ${this.#notice ? html`<p class="notice" role="alert" data-testid="chat-notice">${this.#notice}</p>` : nothing}
        <form @submit=${this.#onSubmit}>
          <label class="sr-only" for="input">Message</label>
          <textarea id="input" rows="2" maxlength=${MESSAGE_MAX_CHARS} placeholder="Write a message…" data-testid="chat-input" @keydown=${this.#onInputKey}></textarea>
          <button class="primary" type="submit" data-testid="chat-send">Send</button>
        </form>
      </section>
    `;
  }
}

function asRequestError(error: unknown): RequestError {
  return error instanceof RequestError ? error : new RequestError('INTERNAL_ERROR', 'Something went wrong.', 0);
}
