/**
 * `<spc-console>`: the agent console, served by the chat server on its own origin. Login, a live
 * list of conversations from every channel (web, Messenger, WhatsApp, SMS) with the customer's
 * assurance level, one conversation's events, a reply box, "send secure link" for conversations on
 * a public channel, and the step request form (card payment, address change, transfer
 * confirmation). The console never sees card data either: a completed step shows brand and last 4
 * only, and never sees a secure link's code.
 *
 * Past 400 lines because the templates and the live state they render (selected conversation,
 * its sync, the request form's kind) belong to one element; the pure parts already live beside it
 * (labels.ts, step-request.ts, agent-api.ts, money.ts).
 *
 * @module
 */
import { LitElement, html, nothing, type TemplateResult } from 'lit';
import {
  MESSAGE_MAX_CHARS,
  ServerFrameSchema,
  type Channel,
  type ConversationEvent,
  type ConversationList,
  type ConversationSummary,
  type ServerFrame,
} from '../../protocol/chat.ts';
import { ChatConnection, type ConnectionStatus } from '../shared/chat-connection.ts';
import { ChatSync } from '../shared/chat-sync.ts';
import { RequestError } from '../shared/rest.ts';
import {
  listConversations,
  loadAgentSession,
  loadHistory,
  login,
  requestStep,
  saveAgentSession,
  sendSecureLink,
  signOut,
  webSocketUrl,
  type AgentSession,
} from './agent-api.ts';
import { styles } from './console.styles.ts';
import { mergeSummary } from './conversation-list.ts';
import { SIGNED_OUT_LOCALLY_ONLY, acrLabel, canSendSecureLink, channelLabel, secureLinkErrorText, secureLinkSentText, viaLabel } from './labels.ts';
import { CONSOLE_CURRENCIES } from './money.ts';
import {
  PAYEE_NAME_MAX_CHARS,
  STEP_KIND_FORMS,
  STEP_PURPOSE_MAX_CHARS,
  STEP_REFERENCE_MAX_CHARS,
  buildStepRequest,
  stepKindForm,
  stepText,
  type StepField,
} from './step-request.ts';

/** State of "send secure link" for one conversation. */
interface SecureLinkState {
  readonly sending: boolean;
  readonly status?: string;
  readonly error?: string;
}

/**
 * The agent console.
 *
 * Test ids: agent-name, agent-password, agent-login, agent-logout, conversation-item,
 * conversation-channel, conversation-acr (`data-acr` = raw level), conversation-header,
 * message-via, reply-input, reply-send, send-secure-link, secure-link-status, secure-link-error,
 * step-kind, pay-amount, pay-currency, pay-purpose, pay-reference, transfer-payee, transfer-account,
 * pay-request, pay-info, message, step-card, step-completed, console-status, console-error,
 * conversations-more (loads the next page of older conversations).
 */
export class SpcConsole extends LitElement {
  static override styles = styles;
  static override properties = { server: {} };

  /** Chat server origin; defaults to the console's own origin. */
  declare server: string;

  #agent: AgentSession | null = loadAgentSession();
  #conversations = new Map<string, ConversationSummary>();
  /** Where the next page of older conversations starts; null when every page is loaded. */
  #nextCursor: string | null = null;
  /** The first page has been merged once (its cursor taken). */
  #listLoaded = false;
  #loadingMore = false;
  #selected: string | null = null;
  #syncs = new Map<string, ChatSync>();
  #connection: ChatConnection | null = null;
  #status: ConnectionStatus = 'stopped';
  #error: string | null = null;
  #info: string | null = null;
  #busy = false;
  #stepKind: string = STEP_KIND_FORMS[0]!.kind;
  /** A step request is on its way: its button stays disabled so that one click makes one step. */
  #requesting = false;
  #links = new Map<string, SecureLinkState>();

  constructor() {
    super();
    this.server = location.origin;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.#agent) void this.#startAgent();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#connection?.stop();
    this.#connection = null;
  }

  // ------------------------------------------------------------------ data

  async #startAgent(): Promise<void> {
    const agent = this.#agent;
    if (!agent) return;
    this.#connection?.stop();
    const connection = new ChatConnection({
      frames: ServerFrameSchema,
      url: () => webSocketUrl(this.server, this.#agent?.session ?? ''),
      onOpen: () => {
        for (const sync of this.#syncs.values()) sync.opened();
        // Summaries pushed before this socket was listening (at start, or while it was
        // reconnecting) are in a fresh first page.
        void this.#loadFirstPage(agent);
      },
      onClose: () => {
        for (const sync of this.#syncs.values()) sync.closed();
      },
      onFrame: (frame) => this.#onFrame(frame),
      onStatus: (status) => {
        this.#status = status;
        this.requestUpdate();
      },
      onUnauthorized: () => this.#logout('Your session has ended. Please sign in again.'),
    });
    this.#connection = connection;
    connection.start();
    this.requestUpdate();
    await this.#loadFirstPage(agent);
  }

  /** Merges the first page of the list; its cursor is taken only the first time (later pages stay). */
  async #loadFirstPage(agent: AgentSession): Promise<void> {
    try {
      const page = await listConversations(this.server, agent.session);
      if (this.#agent !== agent) return;
      for (const summary of page.conversations) mergeSummary(this.#conversations, summary);
      if (!this.#listLoaded) this.#nextCursor = page.nextCursor;
      this.#listLoaded = true;
      this.requestUpdate();
    } catch (error) {
      this.#onRequestError(error);
    }
  }

  /** Adds a later page of the list. */
  #addPage(page: ConversationList): void {
    for (const summary of page.conversations) mergeSummary(this.#conversations, summary);
    this.#nextCursor = page.nextCursor;
  }

  async #loadMore(): Promise<void> {
    const agent = this.#agent;
    if (!agent || this.#nextCursor === null || this.#loadingMore) return;
    this.#loadingMore = true;
    this.requestUpdate();
    try {
      const page = await listConversations(this.server, agent.session, this.#nextCursor);
      if (this.#agent === agent) this.#addPage(page);
    } catch (error) {
      this.#onRequestError(error);
    } finally {
      this.#loadingMore = false;
      this.requestUpdate();
    }
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'conversation':
        mergeSummary(this.#conversations, frame.conversation);
        break;
      case 'event':
        this.#syncs.get(frame.event.conversationId)?.receive(frame);
        break;
      case 'replayed':
        this.#syncs.get(frame.conversationId ?? '')?.receive(frame);
        break;
      case 'ack':
        for (const sync of this.#syncs.values()) sync.receive(frame);
        break;
      case 'error':
        // A failed send is dropped from its conversation's outbox; the message is shown either way.
        for (const sync of this.#syncs.values()) sync.receive(frame);
        this.#error = `${frame.message} (${frame.code})`;
        break;
      default:
        break;
    }
    this.requestUpdate();
  }

  async #select(id: string): Promise<void> {
    this.#selected = id;
    this.#info = null;
    this.requestUpdate();
    if (this.#syncs.has(id) || !this.#agent) return;
    const sync = new ChatSync((frame) => this.#connection?.send(frame), { conversationId: id });
    this.#syncs.set(id, sync);
    try {
      for (const event of await loadHistory(this.server, this.#agent.session, id)) sync.receive({ type: 'event', event });
    } catch (error) {
      this.#onRequestError(error);
    }
    // Subscribe to what comes next (and whatever the history page missed).
    if (this.#connection?.status === 'online') sync.opened();
    this.requestUpdate();
  }

  #onRequestError(error: unknown): void {
    if (error instanceof RequestError && error.status === 401) {
      this.#logout('Your session has ended. Please sign in again.');
      return;
    }
    this.#error = error instanceof RequestError ? `${error.message} (${error.code})` : 'Something went wrong.';
    this.requestUpdate();
  }

  #logout(message: string | null = null): void {
    this.#connection?.stop();
    this.#connection = null;
    this.#agent = null;
    saveAgentSession(null);
    this.#conversations.clear();
    this.#nextCursor = null;
    this.#listLoaded = false;
    this.#syncs.clear();
    this.#links.clear();
    this.#selected = null;
    this.#error = message;
    this.requestUpdate();
  }

  /** The server revokes the token first (a copied token dies with it), then this screen forgets it. */
  async #signOut(): Promise<void> {
    const agent = this.#agent;
    if (!agent || this.#busy) return;
    this.#busy = true;
    // Stopped first, so the server closing the socket is not mistaken for an ended session.
    this.#connection?.stop();
    this.#connection = null;
    this.requestUpdate();
    const revoked = await signOut(this.server, agent.session);
    this.#busy = false;
    this.#logout(revoked ? null : SIGNED_OUT_LOCALLY_ONLY);
  }

  // ------------------------------------------------------------------ forms

  #onLogin = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    this.#busy = true;
    this.#error = null;
    this.requestUpdate();
    try {
      this.#agent = await login(this.server, String(form.get('name') ?? ''), String(form.get('password') ?? ''));
      saveAgentSession(this.#agent);
      await this.#startAgent();
    } catch (error) {
      this.#error = error instanceof RequestError ? error.message : 'Sign-in failed.';
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  };

  #onReply = (event: SubmitEvent): void => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const input = form.elements.namedItem('text') as HTMLTextAreaElement;
    const text = input.value.trim();
    const sync = this.#selected ? this.#syncs.get(this.#selected) : undefined;
    if (!text || !sync) return;
    sync.send(text.slice(0, MESSAGE_MAX_CHARS));
    input.value = '';
    this.requestUpdate();
  };

  #onReplyKey = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      (event.target as HTMLTextAreaElement).form?.requestSubmit();
    }
  };

  #onRequestStep = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault();
    const formElement = event.target as HTMLFormElement;
    const form = new FormData(formElement);
    const id = this.#selected;
    if (!id || !this.#agent || this.#requesting) return;
    const built = buildStepRequest(this.#stepKind, (field: StepField) => String(form.get(field) ?? ''));
    this.#error = this.#info = null;
    if (!built.ok) {
      this.#error = built.message;
      (formElement.elements.namedItem(built.field) as HTMLElement | null)?.focus();
      this.requestUpdate();
      return;
    }
    this.#requesting = true;
    this.requestUpdate();
    try {
      await requestStep(this.server, this.#agent.session, id, built.request);
      this.#info = built.description;
      formElement.reset();
    } catch (error) {
      this.#onRequestError(error);
    } finally {
      this.#requesting = false;
    }
    this.requestUpdate();
  };

  #onStepKind = (event: Event): void => {
    this.#stepKind = stepKindForm((event.target as HTMLSelectElement).value).kind;
    this.#info = null;
    this.requestUpdate();
  };

  async #sendSecureLink(summary: ConversationSummary): Promise<void> {
    const agent = this.#agent;
    if (!agent || this.#links.get(summary.id)?.sending) return;
    this.#links.set(summary.id, { sending: true });
    this.requestUpdate();
    let state: SecureLinkState;
    try {
      state = { sending: false, status: secureLinkSentText(await sendSecureLink(this.server, agent.session, summary.id)) };
    } catch (error) {
      if (error instanceof RequestError && error.status === 401) return this.#onRequestError(error);
      state = {
        sending: false,
        error: error instanceof RequestError ? secureLinkErrorText(error.code, error.message, summary.channel) : 'The secure link could not be sent.',
      };
    }
    // Signed out meanwhile: nothing to show.
    if (this.#agent !== agent) return;
    this.#links.set(summary.id, state);
    this.requestUpdate();
  }

  // ------------------------------------------------------------------ render

  protected override render(): TemplateResult {
    const alerts = html`${this.#error ? html`<p class="error" role="alert" data-testid="console-error">${this.#error}</p>` : nothing}`;
    if (!this.#agent) {
      return html`<main class="login">
        <h1>Agent console</h1>
        ${alerts}
        <form @submit=${this.#onLogin}>
          <label>Name <input name="name" autocomplete="username" required data-testid="agent-name" /></label>
          <label>Password <input name="password" type="password" autocomplete="current-password" required data-testid="agent-password" /></label>
          <button type="submit" ?disabled=${this.#busy} data-testid="agent-login">Sign in</button>
        </form>
      </main>`;
    }
    const list = [...this.#conversations.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    return html`
      <header>
        <h1>Agent console</h1>
        <span class="status" role="status" data-testid="console-status" data-status=${this.#status}>${this.#status}</span>
        <span>${this.#agent.name}</span>
        <button type="button" data-testid="agent-logout" ?disabled=${this.#busy} @click=${() => void this.#signOut()}>Sign out</button>
      </header>
      ${alerts}
      <div class="layout">
        <nav aria-label="Conversations">
          <h2>Conversations</h2>
          ${list.length ? nothing : html`<p class="muted">No conversations yet.</p>`}
          <ul>
            ${list.map(
              (c) => html`<li>
                <button
                  type="button"
                  class="conversation"
                  data-testid="conversation-item"
                  data-conversation-id=${c.id}
                  aria-current=${c.id === this.#selected ? 'true' : 'false'}
                  @click=${() => void this.#select(c.id)}
                >
                  <span class="name">${c.customerName}</span>
                  <span class="badges">${this.#channelBadge(c)} ${this.#acrBadge(c)}</span>
                  <span class="last">${c.lastText ?? ''}</span>
                </button>
              </li>`,
            )}
          </ul>
          ${this.#nextCursor === null
            ? nothing
            : html`<button type="button" class="more" data-testid="conversations-more" ?disabled=${this.#loadingMore} @click=${() => void this.#loadMore()}>
                ${this.#loadingMore ? 'Loading…' : 'Show more conversations'}
              </button>`}
        </nav>
        ${this.#selected ? this.#renderConversation(this.#selected) : html`<main class="empty"><p class="muted">Select a conversation.</p></main>`}
      </div>
    `;
  }

  #channelBadge(c: ConversationSummary): TemplateResult {
    return html`<span class="visually-hidden">Channel: </span><span
        class="badge channel channel-${c.channel}"
        data-testid="conversation-channel"
        data-channel=${c.channel}
        >${channelLabel(c.channel)}</span
      >`;
  }

  /** The assurance level in words; the raw level stays in `data-acr` (and `title`). */
  #acrBadge(c: ConversationSummary): TemplateResult {
    return html`<span class="badge acr acr-${c.acr}" data-testid="conversation-acr" data-acr=${c.acr} title="Assurance level: ${c.acr}"
      >${acrLabel(c.acr, c.channel, c.verifiedBy)}</span
    >`;
  }

  #renderConversation(id: string): TemplateResult {
    const sync = this.#syncs.get(id);
    const summary = this.#conversations.get(id);
    const events = sync?.events ?? [];
    const completed = new Set<string>();
    for (const event of events) if (event.kind === 'step_completed') completed.add(event.stepId);
    return html`<main>
      <div class="conversation-header" data-testid="conversation-header">
        <h2>${summary?.customerName ?? id}</h2>
        ${summary ? html`${this.#channelBadge(summary)} ${this.#acrBadge(summary)}` : nothing}
      </div>
      ${summary && canSendSecureLink(summary.channel) ? this.#renderSecureLink(summary) : nothing}
      <div class="log" role="log" aria-live="polite" aria-label="Conversation events" data-testid="conversation-log">
        ${events.map((e) => this.#renderEvent(e, completed, summary?.channel ?? 'web'))}
        ${(sync?.pending ?? []).map(
          (p) => html`<div class="msg agent pending" data-testid="message" data-role="agent" data-pending="true">
            <span class="who">You · sending…</span><p>${p.text}</p>
          </div>`,
        )}
      </div>
      <form class="reply" @submit=${this.#onReply}>
        <label for="reply">Reply</label>
        <textarea id="reply" name="text" rows="2" maxlength=${MESSAGE_MAX_CHARS} data-testid="reply-input" @keydown=${this.#onReplyKey}></textarea>
        <button type="submit" data-testid="reply-send">Send</button>
      </form>
      ${this.#renderStepForm()}
    </main>`;
  }

  #renderSecureLink(summary: ConversationSummary): TemplateResult {
    const state = this.#links.get(summary.id);
    const name = channelLabel(summary.channel);
    return html`<section class="secure-link" aria-label="Secure link">
      <button
        type="button"
        data-testid="send-secure-link"
        ?disabled=${state?.sending ?? false}
        aria-busy=${state?.sending ? 'true' : 'false'}
        @click=${() => void this.#sendSecureLink(summary)}
      >
        ${state?.sending ? 'Sending secure link…' : `Send secure link on ${name}`}
      </button>
      <span class="muted">The customer opens it on the bank's site to continue there.</span>
      <p class="info" role="status" data-testid="secure-link-status">${state?.status ?? ''}</p>
      ${state?.error ? html`<p class="error inline" role="alert" data-testid="secure-link-error">${state.error}</p>` : nothing}
    </section>`;
  }

  #renderStepForm(): TemplateResult {
    const form = stepKindForm(this.#stepKind);
    const has = (field: StepField) => form.fields.includes(field);
    return html`<form class="pay" @submit=${this.#onRequestStep}>
      <fieldset>
        <legend>Request a step from the customer</legend>
        <label>Kind
          <select name="kind" data-testid="step-kind" @change=${this.#onStepKind}>
            ${STEP_KIND_FORMS.map((f) => html`<option value=${f.kind} ?selected=${f.kind === form.kind}>${f.label}</option>`)}
          </select>
        </label>
        ${has('amount')
          ? html`<label>Amount <input name="amount" inputmode="decimal" required placeholder="12.50" data-testid="pay-amount" /></label>
              <label>Currency
                <select name="currency" data-testid="pay-currency">
                  ${CONSOLE_CURRENCIES.map((c) => html`<option value=${c}>${c}</option>`)}
                </select>
              </label>`
          : nothing}
        ${has('payeeName')
          ? html`<label>Payee name <input name="payeeName" required maxlength=${PAYEE_NAME_MAX_CHARS} autocomplete="off" data-testid="transfer-payee" /></label>
              <label>Payee account, last 4
                <input name="payeeAccount" required minlength="4" maxlength="4" autocomplete="off" placeholder="1234" data-testid="transfer-account" />
              </label>`
          : nothing}
        <label>Purpose <input name="purpose" required maxlength=${STEP_PURPOSE_MAX_CHARS} data-testid="pay-purpose" /></label>
        <label>Reference <input name="reference" required maxlength=${STEP_REFERENCE_MAX_CHARS} data-testid="pay-reference" /></label>
        <button type="submit" ?disabled=${this.#requesting} data-testid="pay-request">${form.action}</button>
      </fieldset>
      ${this.#info ? html`<p class="info" role="status" data-testid="pay-info">${this.#info}</p>` : nothing}
    </form>`;
  }

  #renderEvent(event: ConversationEvent, completed: Set<string>, channel: Channel): TemplateResult {
    switch (event.kind) {
      case 'message': {
        const via = event.author.role === 'customer' ? viaLabel(event.via) : null;
        return html`<div class="msg ${event.author.role}" data-testid="message" data-role=${event.author.role} data-seq=${event.seq}>
          <span class="who">${event.author.name} (${event.author.role})${via
              ? html` · <span class="via" data-testid="message-via" data-via=${event.via ?? ''}>${via}</span>`
              : nothing}</span
          ><p>${event.text}</p>
        </div>`;
      }
      case 'system':
        return html`<div class="msg system" data-testid="message" data-role="system" data-seq=${event.seq}><p>${event.text}</p></div>`;
      case 'step':
        return html`<div class="step" data-testid="step-card" data-step-id=${event.step.id} data-kind=${event.step.kind} data-seq=${event.seq}>
          ${stepText(event.step)}
          <span class="muted">${completed.has(event.step.id) ? 'completed' : `waiting for the customer (needs: ${acrLabel(event.requiredAcr, channel)})`}</span>
        </div>`;
      case 'step_completed':
        return html`<div class="step done" data-testid="step-completed" data-step-id=${event.stepId} data-kind=${event.stepKind} data-seq=${event.seq}>
          ${event.text}
        </div>`;
    }
  }
}
