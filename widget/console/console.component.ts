/**
 * `<spc-console>`: the agent console, served by the chat server on its own origin. Login, a live
 * conversation list, one conversation's events, a reply box and the "request card payment" form.
 * The console never sees card data either: a completed step shows brand and last 4 only.
 *
 * @module
 */
import { LitElement, html, nothing, type TemplateResult } from 'lit';
import { MESSAGE_MAX_CHARS, type ConversationEvent, type ConversationSummary, type ServerFrame } from '../../protocol/chat.ts';
import { ChatConnection, type ConnectionStatus } from '../shared/chat-connection.ts';
import { ChatSync } from '../shared/chat-sync.ts';
import { cardLabel, money } from '../shared/format.ts';
import { RequestError } from '../shared/rest.ts';
import {
  listConversations,
  loadAgentSession,
  loadHistory,
  login,
  requestStep,
  saveAgentSession,
  webSocketUrl,
  type AgentSession,
} from './agent-api.ts';
import { styles } from './console.styles.ts';
import { CONSOLE_CURRENCIES, toMinorUnits } from './money.ts';

/**
 * The agent console.
 *
 * Test ids: agent-name, agent-password, agent-login, agent-logout, conversation-item, reply-input,
 * reply-send, pay-amount, pay-currency, pay-purpose, pay-reference, pay-request, message,
 * step-card, step-completed, console-status, console-error.
 */
export class SpcConsole extends LitElement {
  static override styles = styles;
  static override properties = { server: {} };

  /** Chat server origin; defaults to the console's own origin. */
  declare server: string;

  #agent: AgentSession | null = loadAgentSession();
  #conversations = new Map<string, ConversationSummary>();
  #selected: string | null = null;
  #syncs = new Map<string, ChatSync>();
  #connection: ChatConnection | null = null;
  #status: ConnectionStatus = 'stopped';
  #error: string | null = null;
  #info: string | null = null;
  #busy = false;

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
    try {
      for (const summary of await listConversations(this.server, agent.session)) this.#conversations.set(summary.id, summary);
    } catch (error) {
      return this.#onRequestError(error);
    }
    this.#connection?.stop();
    const connection = new ChatConnection({
      url: () => webSocketUrl(this.server, this.#agent?.session ?? ''),
      onOpen: () => {
        for (const sync of this.#syncs.values()) sync.opened();
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
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'conversation':
        this.#conversations.set(frame.conversation.id, frame.conversation);
        break;
      case 'event':
        this.#syncs.get(frame.event.conversationId)?.receive(frame);
        break;
      case 'replayed':
        this.#syncs.get(frame.conversationId)?.receive(frame);
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
    this.#syncs.clear();
    this.#selected = null;
    this.#error = message;
    this.requestUpdate();
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

  #onRequestPayment = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault();
    const formElement = event.target as HTMLFormElement;
    const form = new FormData(formElement);
    const currency = String(form.get('currency') ?? 'EUR');
    const minor = toMinorUnits(String(form.get('amount') ?? ''), currency);
    const purpose = String(form.get('purpose') ?? '').trim();
    const reference = String(form.get('reference') ?? '').trim();
    const id = this.#selected;
    if (!id || !this.#agent) return;
    if (minor === null) {
      this.#error = 'Enter an amount such as 12.50.';
      this.requestUpdate();
      return;
    }
    this.#error = this.#info = null;
    try {
      await requestStep(this.server, this.#agent.session, id, {
        kind: 'card_payment',
        amount: { minor, currency },
        purpose,
        reference,
      });
      this.#info = `Card payment of ${money({ minor, currency })} requested.`;
      formElement.reset();
    } catch (error) {
      this.#onRequestError(error);
    }
    this.requestUpdate();
  };

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
        <button type="button" data-testid="agent-logout" @click=${() => this.#logout()}>Sign out</button>
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
                  <span class="badge acr-${c.acr}" data-testid="conversation-acr" title="Assurance level">${c.acr}</span>
                  <span class="last">${c.lastText ?? ''}</span>
                </button>
              </li>`,
            )}
          </ul>
        </nav>
        ${this.#selected ? this.#renderConversation(this.#selected) : html`<main class="empty"><p class="muted">Select a conversation.</p></main>`}
      </div>
    `;
  }

  #renderConversation(id: string): TemplateResult {
    const sync = this.#syncs.get(id);
    const summary = this.#conversations.get(id);
    const events = sync?.events ?? [];
    const completed = new Set<string>();
    for (const event of events) if (event.kind === 'step_completed') completed.add(event.stepId);
    return html`<main>
      <h2>${summary?.customerName ?? id}</h2>
      <div class="log" role="log" aria-live="polite" aria-label="Conversation events" data-testid="conversation-log">
        ${events.map((e) => this.#renderEvent(e, completed))}
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
      <form class="pay" @submit=${this.#onRequestPayment}>
        <fieldset>
          <legend>Request card payment</legend>
          <label>Amount <input name="amount" inputmode="decimal" required placeholder="12.50" data-testid="pay-amount" /></label>
          <label>Currency
            <select name="currency" data-testid="pay-currency">
              ${CONSOLE_CURRENCIES.map((c) => html`<option value=${c}>${c}</option>`)}
            </select>
          </label>
          <label>Purpose <input name="purpose" required maxlength="140" data-testid="pay-purpose" /></label>
          <label>Reference <input name="reference" required maxlength="64" data-testid="pay-reference" /></label>
          <button type="submit" data-testid="pay-request">Request card payment</button>
        </fieldset>
        ${this.#info ? html`<p class="info" role="status" data-testid="pay-info">${this.#info}</p>` : nothing}
      </form>
    </main>`;
  }

  #renderEvent(event: ConversationEvent, completed: Set<string>): TemplateResult {
    switch (event.kind) {
      case 'message':
        return html`<div class="msg ${event.author.role}" data-testid="message" data-role=${event.author.role} data-seq=${event.seq}>
          <span class="who">${event.author.name} (${event.author.role})</span><p>${event.text}</p>
        </div>`;
      case 'system':
        return html`<div class="msg system" data-testid="message" data-role="system" data-seq=${event.seq}><p>${event.text}</p></div>`;
      case 'step':
        return html`<div class="step" data-testid="step-card" data-step-id=${event.step.id} data-seq=${event.seq}>
          Card payment requested: ${money(event.step.amount)} — ${event.step.purpose} (ref ${event.step.reference})
          <span class="muted">${completed.has(event.step.id) ? 'completed' : `waiting for the customer (needs ${event.requiredAcr})`}</span>
        </div>`;
      case 'step_completed':
        return html`<div class="step done" data-testid="step-completed" data-step-id=${event.stepId} data-seq=${event.seq}>
          Card provided: ${cardLabel(event.card)}
        </div>`;
    }
  }
}
