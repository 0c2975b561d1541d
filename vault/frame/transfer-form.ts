/**
 * The transfer confirmation: amount, payee (name and account ending), purpose and reference,
 * all from the SIGNED pivot token, and two buttons inside the frame: Confirm and Decline. The
 * answer is POSTed to the vault service (same origin), once; only the outcome is reported outward.
 *
 * @module
 */
import type { DisplayInfo } from '../../protocol/frame.ts';
import type { TransferConfirmationResponse, TransferDecision } from '../../protocol/vault-api.ts';
import { TRANSFER_CONFIRMATIONS_PATH } from '../shared/frame-config.ts';
import { h, notice, replaceChildren } from './dom.ts';
import type { Emit } from './events.ts';
import { RETRYABLE_CODES, messageFor } from './messages.ts';
import { postToVault } from './post.ts';

export interface TransferFormOptions {
  readonly display: Extract<DisplayInfo, { kind: 'transfer' }>;
  readonly pivotToken: string;
  readonly emit: Emit;
}

/** Render the confirmation into `root` (replacing what is there). */
export function renderTransferForm(root: HTMLElement, { display, pivotToken, emit }: TransferFormOptions): void {
  const status = h('p', { class: 'spc-status', role: 'status' });
  const confirm = h('button', { type: 'button', class: 'spc-pay' }, `Confirm transfer of ${display.formattedAmount}`);
  const decline = h('button', { type: 'button', class: 'spc-decline' }, 'Decline');

  const answer = (decision: TransferDecision): void => {
    if (confirm.disabled) return;
    confirm.disabled = decline.disabled = true;
    status.textContent = 'Sending your answer…';
    void postToVault(TRANSFER_CONFIRMATIONS_PATH, { pivotToken, decision }).then((result) => {
      confirm.disabled = decline.disabled = false;
      if (result.ok) {
        // The emitter's strict schema drops anything but 'confirmed' | 'declined'.
        const { outcome } = result.json as TransferConfirmationResponse;
        replaceChildren(root, notice(`Transfer ${outcome === 'confirmed' ? 'confirmed' : 'declined'}`));
        emit({ type: 'complete', kind: 'transfer', outcome });
        return;
      }
      const { code } = result;
      emit({ type: 'error', error: { code, message: messageFor(code) } });
      if (RETRYABLE_CODES.has(code)) status.textContent = messageFor(code);
      else replaceChildren(root, notice(messageFor(code), 'alert'));
    });
  };
  confirm.addEventListener('click', () => answer('confirm'));
  decline.addEventListener('click', () => answer('decline'));

  replaceChildren(
    root,
    h(
      'div',
      { class: 'spc-form', role: 'group', 'aria-label': 'Transfer to confirm' },
      h(
        'div',
        { class: 'spc-summary' },
        h('p', { class: 'spc-amount' }, display.formattedAmount),
        h('p', { class: 'spc-payee' }, `To ${display.payee.name} (account ending ${display.payee.accountLast4})`),
        h('p', { class: 'spc-purpose' }, display.purpose),
        h('p', { class: 'spc-reference' }, `Reference ${display.reference}`),
      ),
      confirm,
      decline,
      status,
      h('p', { class: 'spc-secure' }, 'Only you can answer here: the chat and this website cannot press these buttons.'),
    ),
  );
  confirm.focus();
}
