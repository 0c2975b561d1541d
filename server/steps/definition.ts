/**
 * What the chat server needs of a step kind beyond its protocol definition (protocol/steps/):
 * how a verified vault notice becomes the step's result, whether that result matches what the
 * step asked, what is kept with the completed step, and what the conversation shows.
 *
 * @module
 */
import type { ConversationEvent } from '../../protocol/chat.ts';
import type { StepKind, StepOf } from '../../protocol/steps/index.ts';
import type { VaultNoticeClaims } from '../../protocol/vault-api.ts';

type StepCompleted = Extract<ConversationEvent, { kind: 'step_completed' }>;
/** The kind-specific part of a `step_completed` event (`card`, `address` or `transfer`, ...). */
export type CompletedFields = Omit<StepCompleted, 'kind' | 'conversationId' | 'seq' | 'at' | 'stepId' | 'stepKind' | 'text'>;

export interface ServerStepKind<K extends StepKind, Result extends { readonly kind: K }> {
  readonly kind: K;
  /** The notice events that complete a step of this kind. */
  readonly noticeEvents: readonly VaultNoticeClaims['event'][];
  /** The result a verified notice of one of those events reports. */
  resultOf(claims: VaultNoticeClaims): Result;
  /** Whether the result is the one the step asked for (a transfer's amount and payee). */
  matches(step: StepOf<K>, result: Result): boolean;
  /** JSON kept with the completed step: `card` for a card, `result` for everything else. */
  stored(result: Result): { readonly card: string | null; readonly result: string | null };
  /** The `step_completed` event's field: only what may be shown outside the vault. */
  completedFields(result: Result): CompletedFields;
  /** The agent's line, e.g. "Card provided: Visa •••• 4242". */
  text(result: Result): string;
}
