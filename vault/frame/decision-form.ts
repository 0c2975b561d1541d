/**
 * A decision step (a transfer to confirm, a new payee to confirm): what is asked, all from the
 * SIGNED pivot token, and two buttons inside the frame: Confirm and Decline. The answer is POSTed
 * to the kind's vault path (same origin), once; only the outcome is reported outward.
 *
 * @module
 */
import type { DisplayInfo } from '../../protocol/frame.ts';
import { PAYEE_CONFIRMATIONS_PATH, TRANSFER_CONFIRMATIONS_PATH, type Decision, type DecisionOutcome } from '../../protocol/steps/index.ts';
import { h, replaceChildren } from './dom.ts';
import type { Emit } from './events.ts';
import { stepPanel, submitStep } from './step.ts';

type DecisionDisplay = Extract<DisplayInfo, { kind: 'transfer' | 'payee_confirmation' }>;

/** The frame's words and the vault path of each decision kind (paths: protocol/steps). */
const KINDS: {
  readonly [K in DecisionDisplay['kind']]: {
    readonly path: string;
    readonly group: string;
    readonly confirm: (d: Extract<DecisionDisplay, { kind: K }>) => string;
    readonly done: string;
  };
} = {
  transfer: { path: TRANSFER_CONFIRMATIONS_PATH, group: 'Transfer to confirm', confirm: (d) => `Confirm transfer of ${d.formattedAmount}`, done: 'Transfer' },
  payee_confirmation: { path: PAYEE_CONFIRMATIONS_PATH, group: 'New payee to confirm', confirm: () => 'Confirm new payee', done: 'New payee' },
};

export interface DecisionFormOptions {
  readonly display: DecisionDisplay;
  readonly pivotToken: string;
  readonly emit: Emit;
}

/** Render the decision into `root` (replacing what is there). */
export function renderDecisionForm(root: HTMLElement, { display, pivotToken, emit }: DecisionFormOptions): void {
  const words = KINDS[display.kind];
  const confirm = h('button', { type: 'button', class: 'spc-pay' }, (words.confirm as (d: DecisionDisplay) => string)(display));
  const decline = h('button', { type: 'button', class: 'spc-decline' }, 'Decline');
  const { payee } = display;
  const { panel, status, allowed } = stepPanel(
    'div',
    { role: 'group', 'aria-label': words.group },
    display,
    `To ${payee.name} (account ending ${payee.accountLast4})`,
    [confirm, decline],
    'Only you can answer here: the chat and this website cannot press these buttons.',
  );

  const answer = (event: Event, decision: Decision): void =>
    submitStep(
      { root, emit, panel, status, buttons: [confirm, decline], inputs: [], allowed },
      event,
      words.path,
      { pivotToken, decision },
      'Sending your answer…',
      {
        done: (json) => {
          // The emitter's strict schema drops anything but 'confirmed' | 'declined'.
          const { outcome } = (json ?? {}) as { outcome?: DecisionOutcome };
          return { event: { type: 'complete', kind: display.kind, outcome: outcome! }, notice: `${words.done} ${outcome === 'confirmed' ? 'confirmed' : 'declined'}` };
        },
      },
    );
  confirm.addEventListener('click', (event) => answer(event, 'confirm'));
  decline.addEventListener('click', (event) => answer(event, 'decline'));

  replaceChildren(root, panel);
  // No focus(): the step arrives while the customer may be typing in the chat; the keyboard (and
  // the Enter meant for the chat) stays there until they move to these buttons themselves.
}
