/**
 * Step policy: which assurance level (`acr`) a customer session needs before the chat server
 * signs a pivot token for a step of a given kind. Stored on each step when it is created, so a
 * later change of this table does not silently weaken steps already issued.
 *
 * @module
 */
import type { Acr, StepKind } from '../protocol/pivot-token.ts';

export interface StepPolicy {
  readonly requiredAcr: Acr;
}

/**
 * Card collection needs the bank's own login by default (docs/design.md, "Tokens"); so do changing
 * the postal address on file and confirming a transfer: a `channel` session (a pivot link from a
 * public messaging platform) gets STEP_UP_REQUIRED for every kind.
 */
export const STEP_POLICY: Readonly<Record<StepKind, StepPolicy>> = {
  card_payment: { requiredAcr: 'bank' },
  address_change: { requiredAcr: 'bank' },
  transfer: { requiredAcr: 'bank' },
};

export function requiredAcrFor(kind: StepKind): Acr {
  return STEP_POLICY[kind].requiredAcr;
}
