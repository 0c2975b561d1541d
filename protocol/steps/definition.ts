/**
 * What every step kind declares, once, in its own module of `protocol/steps/`: the assurance it
 * needs, where the vault takes its answer and how large that answer may be, how many refused
 * answers a pivot token allows, and the words each realm shows for it. The schemas of a kind (the
 * agent's fields, the vault request, the outward result, the notice) are named exports of the same
 * module. `docs/adding-a-step-kind.md` walks through a new kind.
 *
 * @module
 */
import type { Acr, Amount, CardBrand } from '../values.ts';
import type { WithoutPasskeyPolicy } from '../passkeys.ts';

/** The recorded answer of a decision step. */
export type DecisionOutcomeWord = 'confirmed' | 'declined';

/** Formats an amount in the caller's locale (each realm has its own). */
export type MoneyFormat = (amount: Amount) => string;

/** What the agent's side shows of a kind: the console and the chat server's lines. */
export interface AgentWords<Step, Result> {
  /** Console: the option of the kind select, e.g. "Card payment". */
  readonly label: string;
  /** Console: the request button, e.g. "Request card payment". */
  readonly requestAction: string;
  /** Console: the line once the server accepted the request, e.g. "Card payment of €12.50 requested.". */
  requested(step: Step, money: MoneyFormat): string;
  /** Console: the line describing a requested step in the conversation log. */
  logLine(step: Step, money: MoneyFormat): string;
  /** Chat server: the agents' conversation list line while the step is the latest event. */
  listLine(step: Step & { readonly purpose: string }, money: MoneyFormat): string;
  /** Chat server: the agent's line for the vault's notice, e.g. "Card provided: Visa •••• 4242". */
  completed(result: Result, money: MoneyFormat): string;
  /** Chat server: what the frame showed and what should have reached the vault, for the unused-token notice. */
  readonly unusedForm: string;
  readonly unusedNothing: string;
}

/**
 * What the customer's widget shows of a kind. Kept apart from {@link AgentWords} (and reached
 * through `CUSTOMER_VIEWS`) so that the bank page's bundle carries only these.
 */
export interface CustomerView<Step, Result> {
  /** The heading of the step card, e.g. "Card payment requested: €12.50". */
  heading(step: Step, money: MoneyFormat): string;
  /** The button that opens the vault frame, e.g. "Pay securely". */
  readonly action: string;
  /** The accessible title of the vault frame. */
  readonly frameTitle: string;
  /** The done line of the step card, e.g. "Visa •••• 4242 provided". */
  done(result: Result): string;
  /**
   * The outward result carried by a `step_completed` conversation event or the frame's `complete`
   * event (each names it in this kind's own field), or null when that field is missing.
   */
  resultOf(event: CompletionFields): Result | null;
}

export interface StepDefinition<Kind extends string, Step, Result> {
  readonly kind: Kind;
  /** The assurance (`acr`) a session needs before the chat server signs a pivot token for this kind. */
  readonly requiredAcr: Acr;
  /**
   * What the vault accepts from a customer who has no passkey (protocol/passkeys.ts): `refuse`, or
   * `bank` (a pivot token at the required acr, weaker). A customer with a passkey always answers
   * with it, and a token below `requiredAcr` is accepted only with a passkey assertion.
   */
  readonly withoutPasskey: WithoutPasskeyPolicy;
  /** The vault path (same origin as the frame) that takes the customer's answer. */
  readonly vaultPath: string;
  /** Largest answer body that path accepts, in bytes. */
  readonly maxBodyBytes: number;
  /**
   * Answers refused by the kind's own checks (a mistyped card, an unknown country) that one pivot
   * token allows before the token itself is refused (RATE_LIMITED). A refused answer does not
   * consume the token, so without this bound its holder could keep guessing.
   */
  readonly maxRefusedPerToken: number;
  readonly agent: AgentWords<Step, Result>;
  readonly customer: CustomerView<Step, Result>;
}

/** The kind-specific fields of a completion event, as either event carries them. */
export interface CompletionFields {
  readonly card?: { readonly brand: CardBrand; readonly last4: string };
  readonly address?: { readonly city: string; readonly country: string };
  readonly transfer?: { readonly outcome: DecisionOutcomeWord };
  readonly payee?: { readonly outcome: DecisionOutcomeWord };
  readonly outcome?: DecisionOutcomeWord;
}
