/**
 * The chat server's side of each step kind (server/steps/): the agent's line for a notice, and
 * whether a notice's result is the one its step asked for.
 */
import { describe, expect, it } from 'vitest';
import type { VaultNoticeClaims } from '../../protocol/vault-api.ts';
import { noticeResult, serverStepKind } from '../../server/steps/index.ts';

const base = { iss: 'http://vault.localhost', aud: 'http://chat.localhost', jti: 'ntc_0123456789abcdef', iat: 1, exp: 2, cnv: 'c', stp: 's', ptj: 'p' };
const payee = { name: 'B. Okafor', accountLast4: '9876' };
const step = { id: 'stp_payee0123456789abcd', kind: 'payee_confirmation', payee, purpose: 'Add payee', reference: 'PAY-3' } as const;

describe('payee_confirmation on the chat server', () => {
  it('reads a confirmation and a decline into the agent line', () => {
    const confirmed = noticeResult({ ...base, event: 'payee_confirmed', payee: { payee } } as VaultNoticeClaims);
    expect(confirmed).toEqual({ result: { kind: 'payee_confirmation', outcome: 'confirmed', payee }, text: 'New payee B. Okafor (…9876) confirmed' });
    expect(noticeResult({ ...base, event: 'payee_declined', payee: { payee } } as VaultNoticeClaims).text).toBe('New payee B. Okafor (…9876) declined');
  });

  it('refuses a result naming another payee than the step (the store answers NOTICE_INVALID)', () => {
    const kind = serverStepKind('payee_confirmation');
    expect(kind.matches(step, { kind: 'payee_confirmation', outcome: 'confirmed', payee })).toBe(true);
    expect(kind.matches(step, { kind: 'payee_confirmation', outcome: 'confirmed', payee: { ...payee, accountLast4: '0000' } })).toBe(false);
    expect(kind.matches(step, { kind: 'payee_confirmation', outcome: 'confirmed', payee: { ...payee, name: 'Mallory Ltd' } })).toBe(false);
  });

  it('shows only the outcome in the conversation event', () => {
    expect(serverStepKind('payee_confirmation').completedFields({ kind: 'payee_confirmation', outcome: 'declined', payee })).toEqual({ payee: { outcome: 'declined' } });
  });
});

describe('every kind on the chat server', () => {
  it('answers the lines agents already know for the first three kinds', () => {
    const card = { token: 'tok_abcdefghijklmnop', brand: 'visa', last4: '4242', expMonth: 1, expYear: 2031 } as const;
    expect(noticeResult({ ...base, event: 'card_tokenized', card } as VaultNoticeClaims).text).toBe('Card provided: Visa •••• 4242');
    expect(noticeResult({ ...base, event: 'address_changed', address: { city: 'Lyon', country: 'FR' } } as VaultNoticeClaims).text).toBe('Address change received: Lyon, FR');
    const transfer = { amount: { minor: 25000, currency: 'EUR' }, payee: { name: 'A. Martin', accountLast4: '1234' } };
    expect(noticeResult({ ...base, event: 'transfer_confirmed', transfer } as VaultNoticeClaims).text).toBe('Transfer of €250.00 to A. Martin (…1234) confirmed');
  });
});

describe('the agent\'s step text', () => {
  it('is masked like a message: a card number in the purpose, reference or payee name never reaches storage or the token', async () => {
    const { maskStepText } = await import('../../server/conversations/chat-service.ts');
    const pan = '4210 9606 3188 9196';
    const step = {
      id: 'stp_transfer0123456789',
      kind: 'transfer',
      amount: { minor: 25000, currency: 'EUR' },
      payee: { name: `Pay ${pan}`, accountLast4: '1234' },
      purpose: `Card ${pan} fee`,
      reference: pan.replace(/ /g, ''),
    } as const;
    const masked = maskStepText(step);
    expect(JSON.stringify(masked)).not.toMatch(/4210|9606|3188/);
    expect(masked).toMatchObject({ id: step.id, kind: 'transfer', amount: step.amount, payee: { accountLast4: '1234' } });
    expect(masked.purpose.endsWith('9196 fee')).toBe(true);
  });
});
