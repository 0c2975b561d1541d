import { describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../../protocol/chat.ts';
import { cardLabel, money } from '../../../widget/shared/format.ts';
import { CUSTOMER_VIEWS, STEP_KINDS } from '../../../protocol/steps/index.ts';
import { buildTimeline, openSteps, resultText, stepResult } from '../../../widget/secure-chat/timeline.ts';

const CNV = 'cnv_abcdefgh1234';
const base = { conversationId: CNV, at: '2025-01-01T00:00:00.000Z' };
const step = { id: 'stp_abcdefghijklmnop', kind: 'card_payment', amount: { minor: 1250, currency: 'EUR' }, purpose: 'Invoice 42', reference: 'INV-42' } as const;
const stepEvent: ConversationEvent = { ...base, seq: 2, kind: 'step', author: { role: 'agent', name: 'Alice' }, step, requiredAcr: 'bank' };
const completed: ConversationEvent = {
  ...base,
  seq: 3,
  kind: 'step_completed',
  stepKind: 'card_payment',
  stepId: step.id,
  card: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
  text: 'Card provided: Visa •••• 4242',
};
const hello: ConversationEvent = { ...base, seq: 1, kind: 'message', author: { role: 'customer', name: 'Robert' }, clientMsgId: 'abcdefgh', text: 'hi' };

describe('timeline', () => {
  it('shows an open step as a card without completion', () => {
    const items = buildTimeline([hello, stepEvent], []);
    expect(items.map((i) => i.kind)).toEqual(['message', 'step']);
    expect(items[1]).toMatchObject({ kind: 'step', completed: null, requiredAcr: 'bank' });
    expect(openSteps([hello, stepEvent]).has(step.id)).toBe(true);
  });

  it('folds a later step_completed into its step card', () => {
    const items = buildTimeline([hello, stepEvent, completed], []);
    expect(items).toHaveLength(2);
    expect(items[1]).toMatchObject({ kind: 'step', completed: { kind: 'card_payment', result: { brand: 'visa', last4: '4242' } } });
    expect(openSteps([hello, stepEvent, completed]).size).toBe(0);
  });

  it('shows a step_completed whose step is not in view as a system line', () => {
    const items = buildTimeline([completed], []);
    expect(items).toEqual([{ kind: 'message', key: 'e3', role: 'system', name: '', text: 'Card provided: Visa •••• 4242', pending: false }]);
  });

  it('appends messages still being sent, marking unacked ones pending', () => {
    const items = buildTimeline([hello], [
      { clientMsgId: 'm1', text: 'acked', seq: 9 },
      { clientMsgId: 'm2', text: 'unacked' },
    ]);
    expect(items.slice(1)).toMatchObject([
      { text: 'acked', pending: false, role: 'customer' },
      { text: 'unacked', pending: true, role: 'customer' },
    ]);
  });

  it('formats the card and the amount for display', () => {
    expect(cardLabel({ brand: 'visa', last4: '4242' })).toBe('Visa •••• 4242');
    expect(money({ minor: 1250, currency: 'EUR' })).toBe('€12.50');
    expect(money({ minor: 1250, currency: 'EUR' }, 'not a locale!')).toBe('€12.50');
  });

  describe('per step kind', () => {
    const addressStep = { id: 'stp_addressaddress0001', kind: 'address_change', purpose: 'New address', reference: 'ADR-1' } as const;
    const transferStep = {
      id: 'stp_transfertransfer01',
      kind: 'transfer',
      amount: { minor: 25000, currency: 'EUR' },
      payee: { name: 'A. Martin', accountLast4: '1234' },
      purpose: 'Rent',
      reference: 'TRF-1',
    } as const;
    const stepOf = (s: typeof addressStep | typeof transferStep, seq: number): ConversationEvent => ({ ...base, seq, kind: 'step', author: { role: 'agent', name: 'Alice' }, step: s, requiredAcr: 'bank' });
    const addressDone: ConversationEvent = {
      ...base,
      seq: 5,
      kind: 'step_completed',
      stepKind: 'address_change',
      stepId: addressStep.id,
      address: { city: 'Lyon', country: 'FR' },
      text: 'Address change received: Lyon, FR',
    };
    const transferDone = (outcome: 'confirmed' | 'declined', seq: number): ConversationEvent => ({
      ...base,
      seq,
      kind: 'step_completed',
      stepKind: 'transfer',
      stepId: transferStep.id,
      transfer: { outcome },
      text: `Transfer ${outcome}`,
    });

    it('labels the button of each kind', () => {
      const labels = Object.fromEntries(STEP_KINDS.map((kind) => [kind, CUSTOMER_VIEWS[kind].action]));
      expect(labels).toEqual({
        card_payment: 'Pay securely',
        address_change: 'Change address securely',
        transfer: 'Review and confirm',
        payee_confirmation: 'Review and confirm',
      });
    });

    it('folds an address change and a transfer answer into their cards, each with its own done line', () => {
      const items = buildTimeline([stepOf(addressStep, 4), addressDone, stepOf(transferStep, 6), transferDone('declined', 7)], []);
      expect(items.map((i) => i.kind)).toEqual(['step', 'step']);
      const [address, transfer] = items.map((i) => (i.kind === 'step' ? i.completed : null));
      expect(address).toEqual({ kind: 'address_change', result: { city: 'Lyon', country: 'FR' } });
      expect(transfer).toEqual({ kind: 'transfer', result: { outcome: 'declined' } });
      expect(resultText(address!)).toBe('Address updated: Lyon, FR');
      expect(resultText(transfer!)).toBe('Transfer declined');
      expect(resultText({ kind: 'transfer', result: { outcome: 'confirmed' } })).toBe('Transfer confirmed');
    });

    it('keeps the card line as before', () => {
      const result = stepResult(completed as Extract<ConversationEvent, { kind: 'step_completed' }>);
      expect(result).toEqual({ kind: 'card_payment', result: { brand: 'visa', last4: '4242' } });
      expect(resultText(result!)).toBe('Visa •••• 4242 provided');
    });

    it("reads the frame's complete events the same way", () => {
      expect(stepResult({ type: 'complete', kind: 'address_change', address: { city: 'Lyon', country: 'FR' } })).toEqual({ kind: 'address_change', result: { city: 'Lyon', country: 'FR' } });
      expect(stepResult({ type: 'complete', kind: 'transfer', outcome: 'confirmed' })).toEqual({ kind: 'transfer', result: { outcome: 'confirmed' } });
      expect(
        stepResult({ type: 'complete', kind: 'card_payment', card: { token: 'tok_abcdefghijklmnop', brand: 'mastercard', last4: '4444', expMonth: 1, expYear: 2031 } }),
      ).toEqual({ kind: 'card_payment', result: { brand: 'mastercard', last4: '4444' } });
    });

    it('shows no result when the field of the kind is missing (the step stays open in the card)', () => {
      const missing = { ...addressDone, address: undefined } as Extract<ConversationEvent, { kind: 'step_completed' }>;
      expect(stepResult(missing)).toBeNull();
      const items = buildTimeline([stepOf(addressStep, 4), missing], []);
      expect(items[0]).toMatchObject({ kind: 'step', completed: null });
      expect(openSteps([stepOf(addressStep, 4), missing]).size).toBe(0);
    });
  });
});
