/**
 * Templates of the message list: one message row, one step card. Pure functions of their inputs;
 * the element decides the step's state and owns the iframe passed in.
 *
 * @module
 */
import { html, nothing, type TemplateResult } from 'lit';
import { money } from '../shared/format.ts';
import { CUSTOMER_VIEWS } from '../../protocol/steps/index.ts';
import { resultText, type StepResult, type TimelineItem } from './timeline.ts';

export type StepPhase = 'idle' | 'loading' | 'login' | 'frame' | 'done' | 'error';

/** What the customer sees of one step, besides the step itself. */
export interface StepView {
  readonly phase: StepPhase;
  readonly message?: string;
  /** What the step came to (from the conversation or the frame's `complete`). */
  readonly result?: StepResult;
  /** The frame reported `ready`: the card fields are interactive. */
  readonly ready?: boolean;
}

const PAY_LABEL: Partial<Record<StepPhase, string>> = { error: 'Try again', login: 'Continue' };

export function renderMessage(item: Extract<TimelineItem, { kind: 'message' }>): TemplateResult {
  const who = item.role === 'customer' ? 'You' : item.name;
  return html`<div class="msg ${item.role} ${item.pending ? 'pending' : ''}" data-testid="message" data-role=${item.role} data-pending=${item.pending ? 'true' : 'false'}>
    ${item.role === 'system' ? nothing : html`<span class="who">${who}${item.pending ? ' · sending…' : ''}</span>`}
    <p>${item.text}</p>
  </div>`;
}

export function renderStep(
  item: Extract<TimelineItem, { kind: 'step' }>,
  state: StepView,
  iframe: HTMLIFrameElement | undefined,
  locale: string | null,
  onPay: () => void,
): TemplateResult {
  const { step } = item;
  // The conversation is authoritative: a step_completed in history wins over local state.
  const view: StepView = item.completed && state.phase !== 'done' ? { phase: 'done', result: item.completed } : state;
  const words = CUSTOMER_VIEWS[step.kind];
  const payLabel = view.phase === 'idle' ? words.action : PAY_LABEL[view.phase];
  return html`<div class="step" data-testid="step-card" data-step-id=${step.id} data-state=${view.phase} data-ready=${view.ready ? 'true' : 'false'}>
    <p class="title">${words.heading(step as never, (amount) => money(amount, locale))} — ${step.purpose}</p>
    <p class="ref">Reference ${step.reference}</p>
    ${payLabel ? html`<button class="primary" type="button" data-testid="step-pay" @click=${onPay}>${payLabel}</button>` : nothing}
    ${view.phase === 'loading' || (view.phase === 'frame' && !view.ready) ? html`<p role="status">Opening the secure form…</p>` : nothing}
    ${view.phase === 'login' ? html`<p role="status" data-testid="step-login-required">Please sign in to your bank to continue</p>` : nothing}
    ${iframe ?? nothing}
    ${view.phase === 'done' && view.result ? html`<p class="done" role="status" tabindex="-1" data-testid="step-status">${resultText(view.result)}</p>` : nothing}
    ${view.message && view.phase !== 'done' ? html`<p class="error" role="alert" data-testid="step-error">${view.message}</p>` : nothing}
  </div>`;
}
