/**
 * `card_payment` on the chat server: the vault's `card_tokenized` notice reports the card as it
 * may be shown outside the vault (brand, last 4, expiry, token).
 *
 * @module
 */
import { cardPayment, type CardDisplay } from '../../protocol/steps/index.ts';
import { formatAmount } from '../../protocol/values.ts';
import type { ServerStepKind } from './definition.ts';

export type CardPaymentResult = { readonly kind: 'card_payment'; readonly card: CardDisplay };

export const cardPaymentOnServer: ServerStepKind<'card_payment', CardPaymentResult> = {
  kind: 'card_payment',
  noticeEvents: ['card_tokenized'],
  resultOf(claims) {
    if (claims.event !== 'card_tokenized') throw new Error(`not a card notice: ${claims.event}`);
    return { kind: 'card_payment', card: claims.card };
  },
  matches: () => true,
  stored: (result) => ({ card: JSON.stringify(result.card), result: null }),
  completedFields: ({ card }) => ({ card: { brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear } }),
  text: ({ card }) => cardPayment.agent.completed(card, (amount) => formatAmount(amount)),
};
