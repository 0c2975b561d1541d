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
import { h, replaceChildren } from './dom.ts';
import type { Emit } from './events.ts';
import { stepPanel, submitStep } from './step.ts';

export interface TransferFormOptions {
  readonly display: Extract<DisplayInfo, { kind: 'transfer' }>;
  readonly pivotToken: string;
  readonly emit: Emit;
}

/** Render the confirmation into `root` (replacing what is there). */
export function renderTransferForm(root: HTMLElement, { display, pivotToken, emit }: TransferFormOptions): void {
  const confirm = h('button', { type: 'button', class: 'spc-pay' }, `Confirm transfer of ${display.formattedAmount}`);
  const decline = h('button', { type: 'button', class: 'spc-decline' }, 'Decline');
  const { payee } = display;
  const { panel, status, allowed } = stepPanel(
    'div',
    { role: 'group', 'aria-label': 'Transfer to confirm' },
    display,
    `To ${payee.name} (account ending ${payee.accountLast4})`,
    [confirm, decline],
    'Only you can answer here: the chat and this website cannot press these buttons.',
  );

  const answer = (event: Event, decision: TransferDecision): void =>
    submitStep({ root, emit, panel, status, buttons: [confirm, decline], inputs: [], allowed }, event, TRANSFER_CONFIRMATIONS_PATH, { pivotToken, decision }, 'Sending your answer…', {
      done: (json) => {
        // The emitter's strict schema drops anything but 'confirmed' | 'declined'.
        const { outcome } = (json ?? {}) as Partial<TransferConfirmationResponse>;
        return { event: { type: 'complete', kind: 'transfer', outcome: outcome! }, notice: `Transfer ${outcome === 'confirmed' ? 'confirmed' : 'declined'}` };
      },
    });
  confirm.addEventListener('click', (event) => answer(event, 'confirm'));
  decline.addEventListener('click', (event) => answer(event, 'decline'));

  replaceChildren(root, panel);
  confirm.focus();
}
