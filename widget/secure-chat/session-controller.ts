/**
 * The session half of `<secure-chat>`, as a Lit reactive controller: the chat session (from a
 * pivot link, sessionStorage or a new one), the chat connection (ChatConnection + ChatSync), its
 * restarts, and the step-up to `bank` with the page's identity provider.
 *
 * Stale results are dropped by one mechanism: each session has an AbortController. Every async
 * piece of work for it (redeem, create, step-up) passes its signal to fetch and drops its outcome
 * once it is aborted; a teardown (element removed, server changed, another conversation, session
 * refused) aborts it and the next session gets a new one. The step flow (StepController) hangs
 * on {@link SessionController.steps}.
 *
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { CustomerServerFrameSchema, MESSAGE_MAX_CHARS, type ConversationEvent, type IdentityAssertion, type ServerFrame, type SessionResponse } from '../../protocol/chat.ts';
import type { Acr } from '../../protocol/pivot-token.ts';
import { backoffDelay } from '../shared/backoff.ts';
import { ChatConnection, type ConnectionStatus } from '../shared/chat-connection.ts';
import { ChatSync } from '../shared/chat-sync.ts';
import { asRequestError, createSession, redeemPivotLink, requestNonce, stepUp, webSocketUrl } from './chat-api.ts';
import { emit } from './events.ts';
import { originOf } from './frame-messages.ts';
import { takePivotCode } from './pivot-link.ts';
import { clearSession, loadSession, saveSession, type StoredSession } from './session-store.ts';

/** Consecutive "session refused -> new session" rounds before the widget gives up. */
export const MAX_SESSION_RESTARTS = 3;

/** What the controllers use of `<secure-chat>`. */
export interface ChatHost extends ReactiveControllerHost, EventTarget {
  readonly server: string | null;
  readonly vault: string | null;
  readonly locale: string | null;
  readonly accent: string | null;
  open: boolean;
  readonly isConnected: boolean;
  /** The element's shadow root: where the keyboard goes when a frame closes. */
  readonly renderRoot?: HTMLElement | DocumentFragment;
  readonly identityProvider: ((request: { nonce: string }) => Promise<string | IdentityAssertion | null>) | null | undefined;
}

/** What the session tells the step flow. */
export interface StepHooks {
  /** New conversation events; `live`: they arrived as they happened, not in a replay. */
  receive(events: readonly ConversationEvent[], live: boolean): void;
  /** The acr rose: retry the steps that waited for a login (unless `force`, those it now allows). */
  resume(force: boolean): void;
  /** The session was torn down: abort step work, remove frames; `clear` also forgets done steps. */
  reset(clear?: boolean): void;
}

/** `follow(always)`: scroll the log to its end after the next render (unless `always`, only if it is there already). */
export type Follow = (always?: boolean) => void;

export class SessionController implements ReactiveController {
  session: StoredSession | null = null;
  /** The chat origin `session` belongs to. */
  server: string | null = null;
  sync: ChatSync | null = null;
  status: ConnectionStatus | 'idle' = 'idle';
  /** A failure shown in the panel until the next message or replay. */
  notice: string | null = null;
  /** Why a pivot link was refused, shown until the next message. */
  pivotError: string | null = null;
  steps?: StepHooks;
  #host: ChatHost;
  #follow: Follow;
  /** The current session's: aborted on teardown, so work started before it drops its results. */
  #task = new AbortController();
  #connection: ChatConnection | null = null;
  #starting = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #restarts = 0;
  #readyFired = false;
  /** A pivot link's code taken from the address bar, until it is redeemed. */
  #pivotCode: string | null = null;

  constructor(host: ChatHost, follow: Follow) {
    this.#host = host;
    this.#follow = follow;
    host.addController(this);
  }

  hostConnected(): void {
    const server = originOf(this.#host.server);
    this.#pivotCode ??= takePivotCode(location, history);
    // A pivot link continues its conversation in an open panel.
    if (this.#pivotCode) this.#host.open = true;
    // Continue a stored conversation right away; a new one starts when the panel first opens.
    if (this.#host.open || (server && loadSession(server))) this.start();
  }

  hostDisconnected(): void {
    this.#teardown();
  }

  /** The server attribute changed: drop the session and the view of its conversation. */
  reset(): void {
    this.#teardown();
    this.session = this.sync = null;
  }

  /** Starts the session and its connection unless they run already. */
  start(): void {
    if (this.#connection || this.#starting) return;
    const server = originOf(this.#host.server);
    if (!server) return this.#fail('WIDGET_CONFIG_INVALID', 'The chat is not configured: the server attribute is missing or not an origin.');
    clearTimeout(this.#timer);
    this.#starting = true;
    this.sync ??= this.#newSync();
    const { signal } = this.#task;
    void (async () => {
      try {
        const code = this.#pivotCode;
        if (code) {
          try {
            const redeemed = await redeemPivotLink(server, code, signal);
            if (signal.aborted) return;
            this.#pivotCode = null;
            this.#adopt(server, redeemed);
            // Another conversation was open: #adopt tore it down, aborting this start; start anew.
            if (signal.aborted) return this.start();
          } catch (error) {
            const failure = asRequestError(error);
            // Unreachable (or aborted: status 0 too): retried with the start. Refused: the stored
            // or a new session goes on.
            if (failure.status === 0 || failure.status >= 500) throw error;
            this.#pivotCode = null;
            this.pivotError = failure.message;
            emit(this.#host, 'spc-error', { code: failure.code, message: failure.message });
          }
        }
        if (!this.session || this.server !== server) {
          const session = loadSession(server) ?? (await createSession(server, {}, signal));
          if (signal.aborted) return;
          this.#adopt(server, session);
        }
        if (signal.aborted) return;
        this.#attempt = 0;
        this.#connect(server);
        // Signed in on the bank's page already: raise the conversation to `bank` in the background.
        if (this.session?.acr !== 'bank' && typeof this.#host.identityProvider === 'function') void this.stepUp();
      } catch (error) {
        if (signal.aborted) return;
        const failure = asRequestError(error);
        this.#fail(failure.code, failure.message);
        // Transient (or too many new sessions from this address): try again later. Another 4xx
        // (e.g. origin not allowed) needs the bank to act.
        if (failure.status === 0 || failure.status === 429 || failure.status >= 500) {
          this.status = 'offline';
          this.#timer = setTimeout(() => this.start(), backoffDelay(this.#attempt++));
        }
      } finally {
        if (!signal.aborted) this.#starting = false;
      }
    })();
  }

  /** Sends a customer message (starting the session if needed). */
  send(text: string): void {
    this.start();
    (this.sync ??= this.#newSync()).send(text.slice(0, MESSAGE_MAX_CHARS));
    this.notice = this.pivotError = null;
  }

  /**
   * Asks the page for an id_token carrying a fresh nonce of this session and steps the session up
   * with it; true when the session now has it.
   */
  async stepUp(): Promise<boolean> {
    const provider = this.#host.identityProvider;
    const { server, session } = this;
    const { signal } = this.#task;
    if (typeof provider !== 'function' || !server || !session) return false;
    let assertion;
    try {
      const answer = await provider({ nonce: await requestNonce(server, session.session, signal) });
      assertion = typeof answer === 'string' ? ({ type: 'oidc', idToken: answer } as const) : answer;
    } catch {
      return false;
    }
    if (!assertion || signal.aborted) return false;
    try {
      const raised = await stepUp(server, this.session?.session ?? session.session, assertion, signal);
      if (signal.aborted) return false;
      this.#adopt(server, raised);
      // A different conversation came back: #adopt tore the old one down; connect to the new one.
      if (!this.#connection && this.#host.isConnected) this.start();
      this.#host.requestUpdate();
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      const failure = asRequestError(error);
      this.#fail(failure.code, failure.message);
      // Only a refused session starts over; a refused id_token (also 401) keeps the conversation.
      if (failure.code === 'UNAUTHENTICATED' || failure.code === 'SESSION_EXPIRED') this.restart();
      return false;
    }
  }

  /** The server no longer accepts the session: start a new conversation (bounded). */
  restart(): void {
    if (this.server) clearSession(this.server);
    this.#fresh();
    this.session = null;
    if (++this.#restarts > MAX_SESSION_RESTARTS) return this.#fail('SESSION_EXPIRED', 'The chat could not start a session. Please reload the page.');
    this.start();
  }

  #newSync(): ChatSync {
    return new ChatSync((frame) => this.#connection?.send(frame));
  }

  /** Takes a session (new, stored or stepped-up); a different conversation resets the view. */
  #adopt(server: string, { session: token, conversationId, acr, expiresAt }: SessionResponse | StoredSession): void {
    if (this.session && this.session.conversationId !== conversationId) this.#fresh();
    this.session = { session: token, conversationId, acr, expiresAt };
    this.server = server;
    saveSession(server, this.session);
  }

  /** Tears down for another conversation: an empty view; unsent messages carry over. */
  #fresh(): void {
    const unsent = this.sync?.outbox ?? [];
    this.#teardown(true);
    this.sync = this.#newSync();
    for (const item of unsent) this.sync.send(item.text);
  }

  #connect(server: string): void {
    this.#connection = new ChatConnection({
      frames: CustomerServerFrameSchema,
      url: () => webSocketUrl(server, this.session?.session ?? ''),
      onOpen: () => this.sync?.opened(),
      onFrame: (frame) => this.#onFrame(frame),
      onClose: () => this.sync?.closed(),
      onStatus: (status) => {
        this.status = status;
        this.#host.requestUpdate();
      },
      onUnauthorized: () => this.restart(),
    });
    this.#connection.start();
  }

  /** Stops the socket, aborts the session's work and the steps'; session and history are kept. */
  #teardown(clear?: boolean): void {
    this.#task.abort();
    this.#task = new AbortController();
    this.#starting = this.#readyFired = false;
    clearTimeout(this.#timer);
    this.#connection?.stop();
    this.#connection = null;
    this.sync?.closed();
    this.status = 'idle';
    this.steps?.reset(clear);
    this.#host.requestUpdate();
  }

  #onFrame(frame: ServerFrame): void {
    const sync = this.sync;
    if (!sync) return;
    const wasLive = sync.live;
    if (frame.type === 'hello' && frame.acr) this.#setAcr(frame.acr);
    if (frame.type === 'session') this.#setAcr(frame.acr);
    // The first message created the conversation (or a replay shows it): remember it, so a later
    // step-up naming it is not taken for a move to another conversation. Storage may keep null:
    // the replay after a reload shows it again before spc-ready.
    if (frame.type === 'event' && this.session && !this.session.conversationId) this.session = { ...this.session, conversationId: frame.event.conversationId };
    const update = sync.receive(frame);
    this.steps?.receive(update.events, wasLive);
    if (update.replayed) {
      this.#restarts = 0;
      this.notice = null;
      if (!this.#readyFired && this.session) {
        this.#readyFired = true;
        emit(this.#host, 'spc-ready', { conversationId: this.session.conversationId, acr: this.session.acr });
      }
    }
    if (update.error) this.#fail(update.error.code, update.error.message);
    // Follow new events only when the reader is already at the end of the log: a customer
    // scrolled up, or typing in a card form, must not have the page jump under the cursor.
    if (update.events.length || update.pendingChanged) this.#follow();
    this.#host.requestUpdate();
  }

  #setAcr(acr: Acr): void {
    if (!this.session || !this.server) return;
    this.session = { ...this.session, acr };
    saveSession(this.server, this.session);
    // Stepped up elsewhere (another tab, the page's own call): continue what was waiting.
    this.steps?.resume(false);
  }

  /** Reports an error on the element and shows it in the panel. */
  #fail(code: string, message: string): void {
    this.notice = message;
    emit(this.#host, 'spc-error', { code, message });
    this.#host.requestUpdate();
  }
}
