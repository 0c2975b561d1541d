/**
 * The events `<secure-chat>` dispatches on itself: prefixed `spc-`, kebab-case, typed, and
 * `bubbles` + `composed` so a page can listen on the element or on `document`.
 *
 * @module
 */
import type { Acr } from '../../protocol/pivot-token.ts';
import type { StepResult } from './timeline.ts';

export interface SpcReadyDetail {
  /** Null until the customer's first message creates the conversation. */
  readonly conversationId: string | null;
  readonly acr: Acr;
}
export interface SpcLoginRequiredDetail {
  readonly stepId: string;
  readonly requiredAcr: Acr;
}
/** `{stepId, kind}` and what may be shown of the result: `brand, last4` (card), `city, country` (address), `outcome` (transfer). */
export type SpcStepCompletedDetail = { readonly stepId: string } & StepResult;
export interface SpcErrorDetail {
  /** A code from protocol/errors.ts. */
  readonly code: string;
  readonly message: string;
}

export interface SecureChatEventMap {
  'spc-ready': CustomEvent<SpcReadyDetail>;
  'spc-login-required': CustomEvent<SpcLoginRequiredDetail>;
  'spc-step-completed': CustomEvent<SpcStepCompletedDetail>;
  'spc-error': CustomEvent<SpcErrorDetail>;
}

export function emit<K extends keyof SecureChatEventMap>(
  target: EventTarget,
  name: K,
  detail: SecureChatEventMap[K]['detail'],
): void {
  target.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
}
