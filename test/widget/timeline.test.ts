import { describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../protocol/chat.ts';
import { cardLabel, money } from '../../widget/shared/format.ts';
import { buildTimeline, openSteps } from '../../widget/secure-chat/timeline.ts';

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
    expect(items[1]).toMatchObject({ kind: 'step', completed: { brand: 'visa', last4: '4242' } });
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
});
