/**
 * What the message list shows, derived from the conversation's events and the local outbox:
 * messages in seq order, step cards with their completion folded in (a later `step_completed`
 * with the same step id marks the step done), then messages still being sent.
 *
 * @module
 */
import type { ConversationEvent } from '../../protocol/chat.ts';
import type { FrameEvent } from '../../protocol/frame.ts';
import { CUSTOMER_VIEWS, type Step, type StepKind } from '../../protocol/steps/index.ts';
import type { Acr } from '../../protocol/values.ts';
import type { OutboxItem } from '../shared/chat-sync.ts';

/**
 * What may be shown of a done step (never more than the vault reports outward): its kind and the
 * kind's own result (protocol/steps/<kind>.ts, `resultOf`).
 */
export interface StepResult {
  readonly kind: StepKind;
  readonly result: unknown;
}

type StepCompletedEvent = Extract<ConversationEvent, { kind: 'step_completed' }>;
type FrameComplete = Extract<FrameEvent, { type: 'complete' }>;

/** The result a `step_completed` event (conversation) or a `complete` event (frame) carries; null when its field is missing. */
export function stepResult(event: StepCompletedEvent | FrameComplete): StepResult | null {
  const kind = 'stepKind' in event ? event.stepKind : event.kind;
  const result = CUSTOMER_VIEWS[kind]?.resultOf(event);
  return result ? { kind, result } : null;
}

/** The done line of a step card: "Visa •••• 4242 provided", "Address updated: Lyon, FR", "Transfer confirmed". */
export function resultText({ kind, result }: StepResult): string {
  return CUSTOMER_VIEWS[kind].done(result as never);
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
