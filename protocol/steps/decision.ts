/**
 * What decision steps share (a transfer to confirm, a new payee to confirm): the customer presses
 * Confirm or Decline inside the vault frame, and the vault records the outcome.
 *
 * @module
 */

/** What the customer pressed in the frame. */
export const DECISIONS = ['confirm', 'decline'] as const;
export type Decision = (typeof DECISIONS)[number];
/** The recorded answer. */
export const DECISION_OUTCOMES = ['confirmed', 'declined'] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

/**
 * A decision has no check of its own that can fail (the schema already allows only two words),
 * so this bound is never reached; it keeps every kind on the same pipeline.
 */
export const DECISION_MAX_REFUSED_PER_TOKEN = 5;

/** The outcome of a decision. */
export function outcomeOf(decision: Decision): DecisionOutcome {
  return decision === 'confirm' ? 'confirmed' : 'declined';
}
