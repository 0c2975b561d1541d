/**
 * The widget <-> vault frame contract.
 *
 * 1. The widget creates the iframe and, on `load`, posts ONE {@link ConnectMessage} to the exact
 *    vault origin, transferring two MessagePorts: `rpc` (Comlink, widget calls the frame) and
 *    `events` (one-way, frame -> widget, plain structured messages).
 * 2. The frame serves {@link FrameApi} on `rpc` through a hardened endpoint: only `APPLY` of the
 *    method names in {@link FRAME_API_METHODS}, every argument a plain value (no proxies, no
 *    transferables) validated by the schemas below; everything else is dropped.
 * 3. The frame reports {@link FrameEvent}s on `events` (including `dismiss`: Escape pressed in it). The widget validates each with
 *    {@link FrameEventSchema}; no callback of the host ever crosses into the vault.
 *
 * @module
 */
import * as v from 'valibot';
import { CARD_BRANDS } from './values.ts';
import { AddressSummarySchema, CardDisplaySchema, DECISION_OUTCOMES, DisplayInfoSchema } from './steps/index.ts';

export { CARD_BRANDS, type CardBrand } from './values.ts';
export {
  ADDRESS_CITY_MAX_CHARS,
  AddressSummarySchema,
  CardDisplaySchema,
  CountrySchema,
  DisplayInfoSchema,
  TRANSFER_OUTCOMES,
  type AddressSummary,
  type CardDisplay,
  type DisplayInfo,
  type TransferOutcome,
} from './steps/index.ts';

export const FRAME_PROTOCOL_VERSION = 1;

/** The single message the widget posts to the frame window. */
export const ConnectMessageSchema = v.strictObject({
  type: v.literal('spc:connect'),
  version: v.literal(FRAME_PROTOCOL_VERSION),
});
export type ConnectMessage = v.InferOutput<typeof ConnectMessageSchema>;

/** Theme tokens the host may push into the frame: an allow-list of names, each value typed. */
export const ThemeSchema = v.strictObject({
  accent: v.optional(v.pipe(v.string(), v.regex(/^#[0-9a-fA-F]{6}$/))),
  radius: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(24))),
  fontScale: v.optional(v.pipe(v.number(), v.minValue(0.75), v.maxValue(1.5))),
  colorScheme: v.optional(v.picklist(['light', 'dark'])),
});
export type Theme = v.InferOutput<typeof ThemeSchema>;

export const LocaleSchema = v.pipe(v.string(), v.regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/), v.maxLength(35));

/** Argument of `begin`. */
export const BeginArgsSchema = v.strictObject({
  token: v.pipe(v.string(), v.minLength(1), v.maxLength(4096), v.regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)),
  locale: v.optional(LocaleSchema),
  theme: v.optional(ThemeSchema),
});
export type BeginArgs = v.InferOutput<typeof BeginArgsSchema>;

export const FrameErrorSchema = v.strictObject({
  code: v.pipe(v.string(), v.regex(/^[A-Z_]{3,40}$/)),
  message: v.pipe(v.string(), v.maxLength(300)),
});
export type FrameError = v.InferOutput<typeof FrameErrorSchema>;

export const BeginResultSchema = v.variant('ok', [
  v.strictObject({ ok: v.literal(true), display: DisplayInfoSchema }),
  v.strictObject({ ok: v.literal(false), error: FrameErrorSchema }),
]);
export type BeginResult = v.InferOutput<typeof BeginResultSchema>;

/** The API the vault frame exposes over Comlink. Every method takes ONE plain-object argument. */
export interface FrameApi {
  begin(args: BeginArgs): Promise<BeginResult>;
}

/** Allow-list of callable methods with the schema of their single argument. */
export const FRAME_API_METHODS = {
  begin: BeginArgsSchema,
} as const satisfies Record<keyof FrameApi, v.GenericSchema>;

const brand = v.picklist(CARD_BRANDS);
const height = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2000));

const fieldError = v.optional(v.pipe(v.string(), v.regex(/^[A-Z_]{3,40}$/)));

/** Events the frame posts on the `events` port. */
export const FrameEventSchema = v.variant('type', [
  v.strictObject({ type: v.literal('ready'), height }),
  v.strictObject({ type: v.literal('resize'), height }),
  v.strictObject({
    type: v.literal('change'),
    complete: v.boolean(),
    brand,
    errors: v.strictObject({ number: fieldError, expiry: fieldError, cvc: fieldError }),
  }),
  /** The step is done; what may be shown of the result depends on the step kind. */
  v.variant('kind', [
    v.strictObject({ type: v.literal('complete'), kind: v.literal('card_payment'), card: CardDisplaySchema }),
    v.strictObject({ type: v.literal('complete'), kind: v.literal('address_change'), address: AddressSummarySchema }),
    v.strictObject({ type: v.literal('complete'), kind: v.literal('transfer'), outcome: v.picklist(DECISION_OUTCOMES) }),
    v.strictObject({ type: v.literal('complete'), kind: v.literal('payee_confirmation'), outcome: v.picklist(DECISION_OUTCOMES) }),
  ]),
  v.strictObject({ type: v.literal('error'), error: FrameErrorSchema }),
  /** The customer pressed Escape in the frame: close the step's form (the step stays open). */
  v.strictObject({ type: v.literal('dismiss') }),
]);
export type FrameEvent = v.InferOutput<typeof FrameEventSchema>;

/** The query string of the frame URL carries nothing secret: only the protocol version. */
export const FRAME_PATH = '/frame';

/** Height the widget reserves before the frame reports its own (no layout shift). */
export const FRAME_INITIAL_HEIGHT_PX = 300;
