/**
 * Conversation mutations shared by the REST routes and the WebSocket: every change is stored
 * first, then published (events to the conversation's sockets, a fresh summary to agents).
 *
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';
import { MESSAGE_MAX_CHARS, type Channel, type ConversationEvent, type StepRequest } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { STEP_DEFINITIONS, type CardDisplay, type Step, type StepKind } from '../../protocol/steps/index.ts';
import { formatAmount, type Acr } from '../../protocol/values.ts';
import type { VaultNoticeClaims } from '../../protocol/vault-api.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import { randomId } from '../lib/ids.ts';
import { maskCardNumbers } from './mask.ts';
import { copyStep, noticeResult, requiredAcrFor } from '../steps/index.ts';
import { AGENTS_TOPIC, conversationTopic, type PubSub } from '../lib/pubsub.ts';
import type { AuthorRole, ChatStore, StepRecord } from '../store/store.ts';

/** Text of the system event appended when a customer proves their bank identity. */
export const STEP_UP_TEXT = 'Signed in with the bank';
/** The line when a passkey raised a session verified by a link to the bank's level. */
export const PASSKEY_SIGN_IN_TEXT = 'Signed in with a passkey';

/** The agent's line says when the customer's passkey proved the answer. */
function withVerification<T extends { text: string }>(result: T, claims: VaultNoticeClaims): T {
  return 'verified' in claims && claims.verified === 'passkey' ? { ...result, text: `${result.text} · verified by passkey` } : result;
}

/** Interval of the sweep that flags steps whose pivot tokens all expired unused, in ms. */
export const UNUSED_PIVOT_SWEEP_INTERVAL_MS = 15_000;
/** A pivot token counts as unused only this long after its expiry (clock skew, a late notice), in ms. */
export const UNUSED_PIVOT_GRACE_MS = 30_000;

/**
 * Text of the `system` event for a step whose pivot tokens all expired without a card (address,
 * answer) reaching the vault: a sign that the host page may have swapped or hidden the vault frame.
 */
export function unusedPivotText(step: Pick<StepRecord, 'purpose' | 'reference'> & { readonly kind?: StepKind }): string {
  const words = STEP_DEFINITIONS[step.kind ?? 'card_payment'].agent;
  return (
    `Security notice: ${words.unusedForm} was opened for ${step.purpose} (ref ${step.reference}) ` +
    `but ${words.unusedNothing} reached the vault before it expired. If the customer did not see the form, their page may have been tampered with.`
  );
}

/** "Card provided: Visa •••• 4242". */
export function cardProvidedText(card: Pick<CardDisplay, 'brand' | 'last4'>): string {
  return STEP_DEFINITIONS.card_payment.agent.completed(card, formatAmount);
}

/** `step` with every text the agent typed (not its kind, id, currency or amounts) masked. */
export function maskStepText<S extends Step>(step: S): S {
  const mask = (value: unknown, key: string): unknown => {
    if (typeof value === 'string') return key === 'kind' || key === 'id' || key === 'currency' ? value : maskCardNumbers(value);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
    return value;
  };
  return mask(step, '') as S;
}

export interface PostMessageInput {
  readonly conversationId: string;
  readonly author: { readonly role: Exclude<AuthorRole, 'system'>; readonly name: string };
  readonly clientMsgId: string;
  readonly text: string;
  /** The public channel the message came in on (absent for the bank's site). */
  readonly via?: Channel;
}

/** Called after an agent message is stored and, by the store, queued for its platform: starts the send. */
export type AgentMessageRelay = (event: ConversationEvent) => Promise<void>;

export class ChatService {
  readonly #store: ChatStore;
  readonly #bus: PubSub;
  readonly #log: FastifyBaseLogger;
  readonly #clock: Clock;
  readonly #relay: AgentMessageRelay | undefined;

  constructor(store: ChatStore, bus: PubSub, log: FastifyBaseLogger, clock: Clock = systemClock, relay?: AgentMessageRelay) {
    this.#store = store;
    this.#bus = bus;
    this.#log = log;
    this.#clock = clock;
    this.#relay = relay;
  }

  /**
   * One sweep: flags (once) every open step whose issued pivot tokens all expired more than
   * UNUSED_PIVOT_GRACE_MS ago, appending and publishing a security `system` event for each.
   * Returns the events appended. The step stays open; a later vault notice still completes it.
   */
  async sweepUnusedPivotTokens(): Promise<ConversationEvent[]> {
    const events = await this.#store.steps.flagUnusedPivotSteps(this.#clock() - UNUSED_PIVOT_GRACE_MS, unusedPivotText);
    for (const event of events) {
      this.#log.warn({ conversationId: event.conversationId, seq: event.seq }, 'step flagged: pivot tokens expired unused');
      await this.#published(event);
    }
    return events;
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
      ...(input.via !== undefined ? { via: input.via } : {}),
      text: maskCardNumbers(input.text),
    });
    if (created) await this.#published(event);
    if (created && input.author.role === 'agent' && this.#relay) {
      // The message is stored; a relay failure must not fail the agent's send.
      await this.#relay(event).catch((err: unknown) => this.#log.error({ err, conversationId: event.conversationId }, 'relay enqueue failed'));
    }
    return { seq: event.seq, created };
  }

  /** Appends and publishes a `system` event (e.g. a message the platform did not accept). */
  async systemEvent(conversationId: string, text: string): Promise<ConversationEvent> {
    const { event } = await this.#store.events.append(conversationId, { kind: 'system', text });
    await this.#published(event);
    return event;
  }

  /** An agent asks the customer for something: a card payment, an address change, a transfer confirmation. */
  async createStep(conversationId: string, agentName: string, request: StepRequest): Promise<{ stepId: string; seq: number }> {
    if (!(await this.#store.conversations.get(conversationId))) throw new PivotError('CONVERSATION_NOT_FOUND');
    // The agent's own words (purpose, reference, a payee's name) are masked like a message: a card
    // number typed there would otherwise be stored, signed into the token and shown to everyone.
    const content = maskStepText(copyStep({ ...request, id: randomId('stp', 18) }));
    const { step, event } = await this.#store.steps.create(
      { ...content, conversationId, requiredAcr: requiredAcrFor(request.kind) },
      { role: 'agent', name: agentName },
    );
    await this.#published(event);
    return { stepId: step.id, seq: event.seq };
  }

  /** Records a raised assurance level on the conversation and tells its sockets and agents. */
  async acrRaised(conversationId: string, acr: Acr, customerId: string, announce: boolean, text: string = STEP_UP_TEXT): Promise<void> {
    await this.#store.conversations.raiseAcr(conversationId, acr, customerId);
    this.#bus.publish(conversationTopic(conversationId), { type: 'acr', conversationId, acr });
    if (announce) {
      const { event } = await this.#store.events.append(conversationId, { kind: 'system', text });
      await this.#published(event);
    } else {
      await this.publishSummary(conversationId);
    }
  }

  /** Applies a verified vault notice: completes the step and appends "Card provided: …" (or the line of its kind). */
  async completeStep(claims: VaultNoticeClaims): Promise<ConversationEvent> {
    const event = await this.#store.steps.completeFromNotice({
      noticeJti: claims.jti,
      noticeExpiresAt: claims.exp * 1000,
      conversationId: claims.cnv,
      stepId: claims.stp,
      pivotJti: claims.ptj,
      ...withVerification(noticeResult(claims), claims),
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
