/**
 * Conversation mutations shared by the REST routes and the WebSocket: every change is stored
 * first, then published (events to the conversation's sockets, a fresh summary to agents).
 *
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';
import { MESSAGE_MAX_CHARS, type ConversationEvent, type StepRequest } from '../protocol/chat.ts';
import { PivotError } from '../protocol/errors.ts';
import type { CardBrand, CardDisplay } from '../protocol/frame.ts';
import type { Acr } from '../protocol/pivot-token.ts';
import type { VaultNoticeClaims } from '../protocol/vault-api.ts';
import { randomId } from './ids.ts';
import { maskCardNumbers } from './mask.ts';
import { requiredAcrFor } from './policy.ts';
import { AGENTS_TOPIC, conversationTopic, type PubSub } from './pubsub.ts';
import type { AuthorRole, ChatStore } from './store/store.ts';

/** Text of the system event appended when a customer proves their bank identity. */
export const STEP_UP_TEXT = 'Signed in with the bank';

const BRAND_NAMES: Readonly<Record<CardBrand, string>> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  unknown: 'Card',
};

/** "Card provided: Visa •••• 4242". */
export function cardProvidedText(card: Pick<CardDisplay, 'brand' | 'last4'>): string {
  return `Card provided: ${BRAND_NAMES[card.brand]} •••• ${card.last4}`;
}

export interface PostMessageInput {
  readonly conversationId: string;
  readonly author: { readonly role: Exclude<AuthorRole, 'system'>; readonly name: string };
  readonly clientMsgId: string;
  readonly text: string;
}

export class ChatService {
  readonly #store: ChatStore;
  readonly #bus: PubSub;
  readonly #log: FastifyBaseLogger;

  constructor(store: ChatStore, bus: PubSub, log: FastifyBaseLogger) {
    this.#store = store;
    this.#bus = bus;
    this.#log = log;
  }

  /**
   * Masks card-like numbers, caps the length, appends (idempotently) and publishes.
   * Returns the seq of the stored message, the earlier one for a resend.
   */
  async postMessage(input: PostMessageInput): Promise<{ seq: number; created: boolean }> {
    if (input.text.length > MESSAGE_MAX_CHARS) throw new PivotError('MESSAGE_TOO_LONG');
    if (input.text.trim() === '') throw new PivotError('BAD_REQUEST', 'The message is empty.');
    const { event, created } = await this.#store.events.append(input.conversationId, {
      kind: 'message',
      author: { role: input.author.role, name: input.author.name },
      clientMsgId: input.clientMsgId,
      text: maskCardNumbers(input.text),
    });
    if (created) await this.#published(event);
    return { seq: event.seq, created };
  }

  /** An agent asks the customer for something (today: a card payment). */
  async createStep(conversationId: string, agentName: string, request: StepRequest): Promise<{ stepId: string; seq: number }> {
    if (!(await this.#store.conversations.get(conversationId))) throw new PivotError('CONVERSATION_NOT_FOUND');
    const { step, event } = await this.#store.steps.create(
      {
        id: randomId('stp', 18),
        conversationId,
        kind: request.kind,
        amount: { minor: request.amount.minor, currency: request.amount.currency },
        purpose: request.purpose,
        reference: request.reference,
        requiredAcr: requiredAcrFor(request.kind),
      },
      { role: 'agent', name: agentName },
    );
    await this.#published(event);
    return { stepId: step.id, seq: event.seq };
  }

  /** Records a raised assurance level on the conversation and tells its sockets and agents. */
  async acrRaised(conversationId: string, acr: Acr, customerId: string, announce: boolean): Promise<void> {
    await this.#store.conversations.raiseAcr(conversationId, acr, customerId);
    this.#bus.publish(conversationTopic(conversationId), { type: 'acr', conversationId, acr });
    if (announce) {
      const { event } = await this.#store.events.append(conversationId, { kind: 'system', text: STEP_UP_TEXT });
      await this.#published(event);
    } else {
      await this.publishSummary(conversationId);
    }
  }

  /** Applies a verified vault notice: completes the step and appends "Card provided: …". */
  async completeStep(claims: VaultNoticeClaims): Promise<ConversationEvent> {
    const event = await this.#store.steps.completeFromNotice({
      noticeJti: claims.jti,
      noticeExpiresAt: claims.exp * 1000,
      conversationId: claims.cnv,
      stepId: claims.stp,
      pivotJti: claims.ptj,
      card: claims.card,
      text: cardProvidedText(claims.card),
    });
    await this.#published(event);
    return event;
  }

  async publishSummary(conversationId: string): Promise<void> {
    const summary = await this.#store.conversations.summary(conversationId);
    if (summary) this.#bus.publish(AGENTS_TOPIC, { type: 'summary', summary });
  }

  async #published(event: ConversationEvent): Promise<void> {
    this.#bus.publish(conversationTopic(event.conversationId), { type: 'event', event });
    try {
      await this.publishSummary(event.conversationId);
    } catch (err) {
      this.#log.warn({ err }, 'summary publish failed');
    }
  }
}
