/**
 * What the message list shows, derived from the conversation's events and the local outbox:
 * messages in seq order, step cards with their completion folded in (a later `step_completed`
 * with the same step id marks the step done), then messages still being sent.
 *
 * @module
 */
import type { ConversationEvent } from '../../protocol/chat.ts';
import type { CardBrand, FrameEvent, TransferOutcome } from '../../protocol/frame.ts';
import type { Acr, Step, StepKind } from '../../protocol/pivot-token.ts';
import type { OutboxItem } from '../shared/chat-sync.ts';
import { cardLabel } from '../shared/format.ts';

/** What may be shown of a done step, per kind (never more than the vault reports outward). */
export type StepResult =
  | { readonly kind: 'card_payment'; readonly brand: CardBrand; readonly last4: string }
  | { readonly kind: 'address_change'; readonly city: string; readonly country: string }
  | { readonly kind: 'transfer'; readonly outcome: TransferOutcome };

/** The label of the button that opens the vault frame for a step of `kind`. */
export const STEP_ACTION_LABEL: Readonly<Record<StepKind, string>> = {
  card_payment: 'Pay securely',
  address_change: 'Change address securely',
  transfer: 'Review and confirm',
};

type StepCompletedEvent = Extract<ConversationEvent, { kind: 'step_completed' }>;
type FrameComplete = Extract<FrameEvent, { type: 'complete' }>;

/** The result a `step_completed` event (conversation) or a `complete` event (frame) carries; null when its field is missing. */
export function stepResult(event: StepCompletedEvent | FrameComplete): StepResult | null {
  const e = event as {
    readonly stepKind?: StepKind;
    readonly kind: string;
    readonly card?: { readonly brand: CardBrand; readonly last4: string };
    readonly address?: { readonly city: string; readonly country: string };
    readonly outcome?: TransferOutcome;
    readonly transfer?: { readonly outcome: TransferOutcome };
  };
  const kind = e.stepKind ?? e.kind;
  const outcome = e.outcome ?? e.transfer?.outcome;
  if (kind === 'card_payment' && e.card) return { kind, brand: e.card.brand, last4: e.card.last4 };
  if (kind === 'address_change' && e.address) return { kind, city: e.address.city, country: e.address.country };
  return kind === 'transfer' && outcome ? { kind, outcome } : null;
}

/** The done line of a step card: "Visa •••• 4242 provided", "Address updated: Lyon, FR", "Transfer confirmed". */
export function resultText(result: StepResult): string {
  if (result.kind === 'card_payment') return `${cardLabel(result)} provided`;
  if (result.kind === 'address_change') return `Address updated: ${result.city}, ${result.country}`;
  return `Transfer ${result.outcome}`;
}

export type TimelineItem =
  | {
      readonly kind: 'message';
      readonly key: string;
      readonly role: 'customer' | 'agent' | 'system';
      readonly name: string;
      readonly text: string;
      readonly pending: boolean;
    }
  | {
      readonly kind: 'step';
      readonly key: string;
      readonly step: Step;
      readonly requiredAcr: Acr;
      /** Set when the conversation holds a `step_completed` for this step. */
      readonly completed: StepResult | null;
    };

export function buildTimeline(events: readonly ConversationEvent[], pending: readonly OutboxItem[]): TimelineItem[] {
  const completed = new Map<string, StepResult>();
  for (const event of events) {
    const result = event.kind === 'step_completed' && stepResult(event);
    if (result) completed.set((event as StepCompletedEvent).stepId, result);
  }
  const stepIds = new Set<string>();
  const items: TimelineItem[] = [];
  for (const event of events) {
    const key = `e${event.seq}`;
    switch (event.kind) {
      case 'message':
        items.push({ kind: 'message', key, role: event.author.role, name: event.author.name, text: event.text, pending: false });
        break;
      case 'system':
        items.push({ kind: 'message', key, role: 'system', name: '', text: event.text, pending: false });
        break;
      case 'step':
        stepIds.add(event.step.id);
        items.push({ kind: 'step', key, step: event.step, requiredAcr: event.requiredAcr, completed: completed.get(event.step.id) ?? null });
        break;
      case 'step_completed':
        // Folded into its step card; shown on its own only when the step itself is not in view.
        if (!stepIds.has(event.stepId)) items.push({ kind: 'message', key, role: 'system', name: '', text: event.text, pending: false });
        break;
    }
  }
  for (const item of pending) {
    items.push({ kind: 'message', key: `p${item.clientMsgId}`, role: 'customer', name: '', text: item.text, pending: item.seq === undefined });
  }
  return items;
}

/** Steps not completed in the conversation, by id (the ones a step card's button may start). */
export function openSteps(events: readonly ConversationEvent[]): Map<string, { step: Step; requiredAcr: Acr }> {
  const open = new Map<string, { step: Step; requiredAcr: Acr }>();
  for (const event of events) {
    if (event.kind === 'step') open.set(event.step.id, { step: event.step, requiredAcr: event.requiredAcr });
    else if (event.kind === 'step_completed') open.delete(event.stepId);
  }
  return open;
}
