/**
 * Widget / agent console <-> chat server: REST bodies and WebSocket frames.
 *
 * REST (JSON, `Authorization: Bearer <session>` where marked *):
 *   POST /v1/sessions                       SessionRequest -> SessionResponse
 *   POST /v1/sessions/step-up            *  StepUpRequest -> SessionResponse
 *   POST /v1/sessions/nonce              *  -> NonceResponse (for the bank IdP's id_token)
 *   POST /v1/pivot-links/redeem             PivotLinkRedeemRequest -> SessionResponse (acr channel)
 *   POST /v1/ws-tickets                  *  -> WsTicketResponse   (customer or agent)
 *   POST /v1/steps/:stepId/pivot-token   *  -> PivotTokenResponse (customer; policy-gated)
 *   POST /v1/agent/sessions                 AgentLoginRequest -> AgentLoginResponse
 *   DELETE /v1/agent/sessions/current    *  -> 204: signs that session out (revoked; its sockets close)
 *   GET  /v1/agent/conversations?cursor= *  -> ConversationList (one page)
 *   GET  /v1/agent/conversations/:id/events?after=N * -> EventPage
 *   POST /v1/agent/conversations/:id/messages * AgentMessageRequest -> Ack
 *   POST /v1/agent/conversations/:id/steps    * StepRequest -> StepCreated
 *   POST /v1/agent/conversations/:id/pivot-links * -> PivotLinkCreated (sent on the conversation's channel)
 *   GET|POST /webhooks/messenger, /webhooks/whatsapp; POST /webhooks/twilio/sms (platform formats)
 *   POST /v1/vault/notices                  VaultNoticeEnvelope (server-to-server, signed)
 *   GET  /.well-known/jwks.json             pivot-token verification keys
 *
 * WebSocket `GET /v1/ws?ticket=<single-use ticket>`; Origin checked before the upgrade.
 * Errors everywhere: `{ error: { code, message } }` (protocol/errors.ts).
 *
 * @module
 */
import * as v from 'valibot';
import { AcrSchema, STEP_KINDS, StepSchema, boundedText } from './pivot-token.ts';
import { AddressSummarySchema, CardDisplaySchema, TRANSFER_OUTCOMES } from './frame.ts';

/** Largest WebSocket frame either side accepts, in bytes. */
export const WS_MAX_FRAME_BYTES = 16 * 1024;
/** Longest chat message text, in characters. */
export const MESSAGE_MAX_CHARS = 4000;
/**
 * Frames a client may send per second before it is throttled: one budget shared by every socket
 * of the same customer (or agent), so opening more sockets does not buy more throughput.
 */
export const WS_MAX_MESSAGES_PER_SECOND = 20;
/** A WebSocket ticket is valid this long, in seconds, and only once. */
export const WS_TICKET_TTL_S = 30;
/** Sockets one session may hold open at once; one more is refused (WS_TOO_MANY_SOCKETS, or close 4008). */
export const WS_MAX_SOCKETS_PER_SESSION = 5;
/** Issued, unused, unexpired tickets one session may hold; one more is refused (WS_TOO_MANY_TICKETS). */
export const WS_MAX_OPEN_TICKETS_PER_SESSION = 5;
/** Conversations in one page of GET /v1/agent/conversations. */
export const CONVERSATION_PAGE_SIZE = 50;
/** Longest cursor GET /v1/agent/conversations accepts, in characters. */
export const CONVERSATION_CURSOR_MAX_CHARS = 200;
/** Customer session lifetime, in seconds. */
export const SESSION_TTL_S = 60 * 60;
/** At most this many events are replayed per page (resume / REST). */
export const REPLAY_PAGE_SIZE = 500;

const id = (prefix: string) => v.pipe(v.string(), v.regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{8,64}$`)));
export const ConversationIdSchema = id('cnv');
export const ClientMsgIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/));
const seq = v.pipe(v.number(), v.integer(), v.minValue(0));

/** Where a conversation started: the bank's site, or a public messaging platform. */
export const CHANNELS = ['web', 'messenger', 'whatsapp', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];
export const ChannelSchema = v.picklist(CHANNELS);

/** A pivot link code lives this long, in seconds, and is redeemed at most once. */
export const PIVOT_LINK_TTL_S = 15 * 60;
/** Random bytes in a pivot link code (>= 128 bits); base64url-encoded it is 43 characters. */
export const PIVOT_LINK_CODE_BYTES = 32;
/** The URL fragment parameter that carries the code: `https://bank.example/...#pivot=<code>`. */
export const PIVOT_LINK_FRAGMENT_PARAM = 'pivot';
/** Shape of a code (base64url, no padding). Anything else is PIVOT_LINK_INVALID without a lookup. */
export const PivotLinkCodeSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/));
/** An OIDC nonce the chat server hands out for one id_token, in seconds. */
export const ID_TOKEN_NONCE_TTL_S = 5 * 60;
/** Largest id_token accepted, in characters. */
export const ID_TOKEN_MAX_CHARS = 8192;

// ---------------------------------------------------------------- REST

/**
 * Proof of who the customer is, supplied by the bank's page through the widget. The only kind is
 * an id_token of the bank's IdP: nothing the page merely claims (a bare subject) is accepted.
 */
export const IdentityAssertionSchema = v.variant('type', [
  /**
   * An OIDC id_token from the bank's IdP, verified with jose against the tenant's JWKS (issuer,
   * audience, expiry, and the nonce from POST /v1/sessions/nonce); yields `bank`.
   */
  v.strictObject({
    type: v.literal('oidc'),
    idToken: v.pipe(v.string(), v.maxLength(ID_TOKEN_MAX_CHARS), v.regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)),
  }),
]);
export type IdentityAssertion = v.InferOutput<typeof IdentityAssertionSchema>;

/**
 * Body of POST /v1/sessions: always an anonymous session (acr `none`). The bank identity comes
 * later, by step-up with an id_token carrying this session's nonce.
 */
export const SessionRequestSchema = v.strictObject({
  /** Display name the customer typed, if any. */
  displayName: v.optional(boundedText(80)),
});
export type SessionRequest = v.InferOutput<typeof SessionRequestSchema>;

export const StepUpRequestSchema = v.strictObject({ assertion: IdentityAssertionSchema });
export type StepUpRequest = v.InferOutput<typeof StepUpRequestSchema>;

export const SessionResponseSchema = v.strictObject({
  session: v.string(),
  /**
   * The session's conversation; null for a fresh session until the customer's first message
   * creates it (agents see nothing before that).
   */
  conversationId: v.nullable(ConversationIdSchema),
  acr: AcrSchema,
  expiresAt: v.string(),
});
export type SessionResponse = v.InferOutput<typeof SessionResponseSchema>;

export const NonceResponseSchema = v.strictObject({ nonce: v.string(), expiresAt: v.string() });
export type NonceResponse = v.InferOutput<typeof NonceResponseSchema>;

/** Body of POST /v1/pivot-links/redeem: the code read from the URL fragment. */
export const PivotLinkRedeemRequestSchema = v.strictObject({ code: v.pipe(v.string(), v.maxLength(128)) });
export type PivotLinkRedeemRequest = v.InferOutput<typeof PivotLinkRedeemRequestSchema>;

/** Answer to the agent's "send secure link": the code itself is never shown to the agent. */
export const PivotLinkCreatedSchema = v.strictObject({
  channel: ChannelSchema,
  expiresAt: v.string(),
  seq: seq,
});
export type PivotLinkCreated = v.InferOutput<typeof PivotLinkCreatedSchema>;

export const WsTicketResponseSchema = v.strictObject({ ticket: v.string(), expiresAt: v.string() });
export type WsTicketResponse = v.InferOutput<typeof WsTicketResponseSchema>;

export const PivotTokenResponseSchema = v.strictObject({
  token: v.string(),
  vaultOrigin: v.pipe(v.string(), v.url()),
  expiresAt: v.string(),
});
export type PivotTokenResponse = v.InferOutput<typeof PivotTokenResponseSchema>;

export const AgentLoginRequestSchema = v.strictObject({
  name: boundedText(80),
  password: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
});
export const AgentLoginResponseSchema = v.strictObject({ session: v.string(), name: v.string(), expiresAt: v.string() });

export const AgentMessageRequestSchema = v.strictObject({
  clientMsgId: ClientMsgIdSchema,
  text: boundedText(MESSAGE_MAX_CHARS),
});

/** What the agent asks of the customer: one shape per step kind, declared by each kind (protocol/steps/). */
export { StepRequestSchema, type StepRequest } from './steps/index.ts';

export const StepCreatedSchema = v.strictObject({ stepId: v.string(), seq });

export const ConversationSummarySchema = v.strictObject({
  id: ConversationIdSchema,
  customerName: v.string(),
  acr: AcrSchema,
  /** Where the conversation started (web for the bank's site). */
  channel: ChannelSchema,
  lastSeq: seq,
  lastText: v.nullable(v.string()),
  updatedAt: v.string(),
  /** Present once the customer answered a step with their passkey in this conversation. */
  verifiedBy: v.optional(v.literal('passkey')),
});
export type ConversationSummary = v.InferOutput<typeof ConversationSummarySchema>;
/**
 * One page of the agents' list: conversations with a customer message, newest activity first
 * (ties by id), at most CONVERSATION_PAGE_SIZE. `nextCursor` (opaque) asks for the page after
 * this one with `?cursor=`; null on the last page.
 */
export const ConversationListSchema = v.strictObject({
  conversations: v.array(ConversationSummarySchema),
  nextCursor: v.nullable(v.pipe(v.string(), v.maxLength(CONVERSATION_CURSOR_MAX_CHARS))),
});
export type ConversationList = v.InferOutput<typeof ConversationListSchema>;

// ---------------------------------------------------------------- events

export const AuthorSchema = v.strictObject({
  role: v.picklist(['customer', 'agent', 'system']),
  name: v.string(),
});

const eventBase = {
  conversationId: ConversationIdSchema,
  seq: v.pipe(v.number(), v.integer(), v.minValue(1)),
  at: v.string(),
};

/** Every event of a conversation, in `seq` order. */
export const ConversationEventSchema = v.variant('kind', [
  v.strictObject({
    ...eventBase,
    kind: v.literal('message'),
    author: AuthorSchema,
    clientMsgId: v.nullable(v.string()),
    /** The channel the message travelled on; absent for the bank's site (web). */
    via: v.optional(ChannelSchema),
    /** Card-like digit runs are masked by the server before storing. */
    text: v.string(),
  }),
  v.strictObject({
    ...eventBase,
    kind: v.literal('step'),
    author: AuthorSchema,
    step: StepSchema,
    requiredAcr: AcrSchema,
  }),
  v.strictObject({
    ...eventBase,
    kind: v.literal('step_completed'),
    stepId: v.string(),
    /** The kind of the completed step; exactly the matching result field below is present. */
    stepKind: v.picklist(STEP_KINDS),
    /** `card_payment`: what may be seen of the card outside the vault. */
    card: v.optional(
      v.strictObject({
        brand: CardDisplaySchema.entries.brand,
        last4: CardDisplaySchema.entries.last4,
        expMonth: CardDisplaySchema.entries.expMonth,
        expYear: CardDisplaySchema.entries.expYear,
      }),
    ),
    /** `address_change`: only the city and country of the new address (the rest stays in the vault). */
    address: v.optional(AddressSummarySchema),
    /** `transfer`: the customer's answer. */
    transfer: v.optional(v.strictObject({ outcome: v.picklist(TRANSFER_OUTCOMES) })),
    /** `payee_confirmation`: the customer's answer. */
    payee: v.optional(v.strictObject({ outcome: v.picklist(TRANSFER_OUTCOMES) })),
    /**
     * Human line, e.g. "Card provided: Visa •••• 4242", "Address change received: Lyon, FR",
     * "Transfer of €250.00 to A. Martin (…1234) confirmed".
     */
    text: v.string(),
  }),
  v.strictObject({
    ...eventBase,
    kind: v.literal('system'),
    text: v.string(),
  }),
]);
export type ConversationEvent = v.InferOutput<typeof ConversationEventSchema>;

export const EventPageSchema = v.strictObject({ events: v.array(ConversationEventSchema), lastSeq: seq });

// ---------------------------------------------------------------- WebSocket

/** Client -> server frames. A customer's `conversationId` is implied by the session. */
export const ClientFrameSchema = v.variant('type', [
  v.strictObject({
    type: v.literal('send'),
    clientMsgId: ClientMsgIdSchema,
    text: v.pipe(v.string(), v.minLength(1)),
    conversationId: v.optional(ConversationIdSchema),
  }),
  v.strictObject({
    type: v.literal('resume'),
    after: seq,
    conversationId: v.optional(ConversationIdSchema),
  }),
  v.strictObject({ type: v.literal('ping') }),
]);
export type ClientFrame = v.InferOutput<typeof ClientFrameSchema>;

const helloFrame = v.strictObject({
  type: v.literal('hello'),
  role: v.picklist(['customer', 'agent']),
  conversationId: v.nullable(ConversationIdSchema),
  acr: v.nullable(AcrSchema),
});
const eventFrame = v.strictObject({ type: v.literal('event'), event: ConversationEventSchema });
/**
 * After a `resume`, marks that the replay is complete up to `lastSeq`. `conversationId` is null
 * for a customer who has not written yet: there is no conversation, nothing to replay.
 */
const replayedFrame = v.strictObject({ type: v.literal('replayed'), conversationId: v.nullable(ConversationIdSchema), lastSeq: seq });
const ackFrame = v.strictObject({ type: v.literal('ack'), clientMsgId: ClientMsgIdSchema, seq: v.pipe(v.number(), v.integer(), v.minValue(1)) });
/** Agent role: a conversation's summary changed (new conversation, new acr, new message). */
const conversationFrame = v.strictObject({ type: v.literal('conversation'), conversation: ConversationSummarySchema });
const sessionFrame = v.strictObject({ type: v.literal('session'), acr: AcrSchema });
const errorFrame = v.strictObject({
  type: v.literal('error'),
  code: v.string(),
  message: v.string(),
  clientMsgId: v.optional(v.string()),
});
const pongFrame = v.strictObject({ type: v.literal('pong') });

/** Server -> client frames. */
export const ServerFrameSchema = v.variant('type', [helloFrame, eventFrame, replayedFrame, ackFrame, conversationFrame, sessionFrame, errorFrame, pongFrame]);
/**
 * The frames a customer's socket receives: all but the agents' conversation summaries (the
 * widget validates against this, so the bank page's bundle carries no agent-only schema).
 */
export const CustomerServerFrameSchema = v.variant('type', [helloFrame, eventFrame, replayedFrame, ackFrame, sessionFrame, errorFrame, pongFrame]);
export type ServerFrame = v.InferOutput<typeof ServerFrameSchema>;

/** Close codes used on `/v1/ws` besides the standard ones (1008 policy, 1009 too big). */
export const WS_CLOSE = {
  POLICY: 1008,
  TOO_BIG: 1009,
  SESSION_EXPIRED: 4001,
  /** The session already holds WS_MAX_SOCKETS_PER_SESSION sockets (an upgrade that raced past the check). */
  TOO_MANY_SOCKETS: 4008,
  RATE_LIMITED: 4029,
} as const;
