/**
 * Focus discipline: a step never takes the keyboard. The customer is typing a sentence in the
 * chat when the agent's step arrives (the widget opens its vault frame by itself); the frame must
 * not move focus into its form or onto its Confirm button, so the rest of the sentence and the
 * Enter that sends it stay in the chat. Nothing is answered: no step_completed in the
 * conversation, the frame's fields are empty and it shows no answer under way. Then the customer
 * answers deliberately on the frame's own button, and that does reach the vault (a card payment
 * completes, and is the only completion the agent sees; the kinds answered with a passkey ask
 * this customer, who has none, to create one).
 *
 * No fixed waits: the frame is known to be armed when its answer button stops being
 * aria-disabled (it has been fully visible for the visibility guard's 500 ms), and "nothing
 * happened after Enter" is read after the sentence itself has gone through the chat server to
 * the agent's console.
 */
import { expect, test, type Browser, type FrameLocator, type Locator, type Page } from '@playwright/test';
import { INTERNAL } from './env.ts';
import { agentLogin, openConversation } from './agent.ts';
import { openChatAndWrite, signInFromPage } from './customer.ts';
import { agentHeaders, storedConversation, storedMessage } from './stored.ts';

// The viewport of step-kinds.spec.ts: every form fits the chat fully, so the frame gets armed.
test.use({ viewport: { width: 1366, height: 640 } });

const PAN = '4242424242424242';
const EXPIRY = `12 / ${String((new Date().getFullYear() + 3) % 100).padStart(2, '0')}`;

interface Party {
  readonly customer: Page;
  readonly agent: Page;
  readonly conversationId: string;
  readonly marker: string;
  close(): Promise<void>;
}

/**
 * A customer signed in to the bank (so a step opens its frame as soon as it arrives, with no
 * login dialog in between) and an agent with the conversation open.
 */
async function start(browser: Browser, label: string): Promise<Party> {
  const marker = `${label}-${Date.now().toString(36)}`;
  const customerContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const agent = await agentContext.newPage();
  await openChatAndWrite(customer, `Hello, I have a question (${marker}).`, marker);
  const conversationId = await storedConversation(marker);
  await signInFromPage(customer, `customer-${marker}`);
  await agentLogin(agent);
  await openConversation(agent, marker);
  return {
    customer,
    agent,
    conversationId,
    marker,
    close: async () => {
      await customerContext.close();
      await agentContext.close();
    },
  };
}

interface Kind {
  readonly kind: 'card_payment' | 'address_change' | 'transfer' | 'payee_confirmation';
  /** Fills the console's step form for this kind (besides kind and reference). */
  readonly fill: (agent: Page) => Promise<void>;
  /** The frame's button that would answer the step. */
  readonly answer: RegExp;
  /** The frame's text fields, which must still be empty. */
  readonly fields: readonly RegExp[];
  /** Answers deliberately on the frame's own button. */
  readonly deliberate: (frame: FrameLocator) => Promise<void>;
  /**
   * What the agent's console then shows; undefined for the kinds that are answered with a passkey
   * (this customer has none: the deliberate press reaches the vault, which asks for one first).
   */
  readonly completed?: RegExp;
}

/** Waits for an answer button to be armed (fully visible for 500 ms), then clicks it. */
async function press(button: Locator): Promise<void> {
  await button.scrollIntoViewIfNeeded();
  await expect(button).toHaveAttribute('aria-disabled', 'false');
  await button.click();
}

const KINDS: readonly Kind[] = [
  {
    kind: 'card_payment',
    fill: async (agent) => {
      await agent.getByTestId('pay-amount').fill('950.00');
      await agent.getByTestId('pay-currency').selectOption('EUR');
      await agent.getByTestId('pay-purpose').fill('Invoice 77');
    },
    answer: /^pay/i,
    fields: [/card number/i, /expir/i, /security code|cvc/i],
    deliberate: async (frame) => {
      await frame.getByLabel(/card number/i).fill(PAN);
      await frame.getByLabel(/expir/i).fill(EXPIRY);
      await frame.getByLabel(/security code|cvc/i).fill('737');
      await press(frame.getByRole('button', { name: /^pay/i }));
    },
    completed: /Visa •••• 4242/,
  },
  {
    kind: 'address_change',
    fill: async (agent) => {
      await agent.getByTestId('pay-purpose').fill('Update of postal address');
    },
    answer: /save/i,
    fields: [/^address$/i, /address line 2/i, /postcode/i, /city/i, /country/i],
    deliberate: async (frame) => {
      await frame.getByLabel(/^address$/i).fill('1 Quiet Lane');
      await frame.getByLabel(/postcode/i).fill('NW1 6XE');
      await frame.getByLabel(/city/i).fill('London');
      await frame.getByLabel(/country/i).fill('GB');
      await press(frame.getByRole('button', { name: /save/i }));
    },
  },
  {
    kind: 'transfer',
    fill: async (agent) => {
      await agent.getByTestId('pay-amount').fill('950.00');
      await agent.getByTestId('pay-currency').selectOption('EUR');
      await agent.getByTestId('transfer-payee').fill('Mallory Ltd');
      await agent.getByTestId('transfer-account').fill('6666');
      await agent.getByTestId('pay-purpose').fill('Supplier payment');
    },
    answer: /confirm transfer/i,
    fields: [],
    deliberate: async (frame) => press(frame.getByRole('button', { name: 'Decline' })),
  },
  {
    kind: 'payee_confirmation',
    fill: async (agent) => {
      await agent.getByTestId('transfer-payee').fill('Mallory Ltd');
      await agent.getByTestId('transfer-account').fill('6666');
      await agent.getByTestId('pay-purpose').fill('New supplier');
    },
    answer: /confirm new payee/i,
    fields: [],
    // The keyboard path: the customer moves to the frame's own button, then presses Enter on it.
    deliberate: async (frame) => {
      const decline = frame.getByRole('button', { name: 'Decline' });
      await decline.scrollIntoViewIfNeeded();
      await expect(decline).toHaveAttribute('aria-disabled', 'false');
      await decline.focus();
      await decline.press('Enter');
    },
  },
];

/** The agent asks for a step of `kind`; its card in the customer's chat, found by its reference. */
async function requestStep(party: Party, kind: Kind, reference: string): Promise<Locator> {
  const { agent, customer } = party;
  await agent.getByTestId('step-kind').selectOption(kind.kind);
  await kind.fill(agent);
  await agent.getByTestId('pay-reference').fill(reference);
  await agent.getByTestId('pay-request').click();
  return customer.getByTestId('step-card').filter({ hasText: reference });
}

/** The step's frame has rendered its form and could take an answer now. */
async function expectArmed(card: Locator, kind: Kind): Promise<FrameLocator> {
  await expect(card).toHaveAttribute('data-ready', 'true');
  const frame = card.frameLocator('[data-testid="vault-frame"]');
  await expect(frame.getByRole('button', { name: kind.answer })).toHaveAttribute('aria-disabled', 'false');
  return frame;
}

async function conversationEvents(conversationId: string): Promise<Array<{ kind: string; text?: string }>> {
  const res = await fetch(`${INTERNAL.chat}/v1/agent/conversations/${conversationId}/events?after=0`, { headers: await agentHeaders() });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: Array<{ kind: string; text?: string }> }).events;
}

/**
 * After Enter: the sentence is one message, stored and seen by the agent; the chat input is
 * empty and still focused; and by then the conversation holds no step_completed.
 */
async function expectSentenceSentAndNothingAnswered(party: Party, sentence: string, head: string, tail: string): Promise<void> {
  const { customer, agent } = party;
  const input = customer.getByTestId('chat-input');
  await expect(storedMessage(customer, head).locator('p')).toHaveText(sentence);
  await expect(customer.getByTestId('message').filter({ hasText: head })).toHaveCount(1);
  await expect(customer.getByTestId('message').filter({ hasText: tail })).toHaveCount(1);
  await expect(input).toHaveValue('');
  await expect(input).toBeFocused();
  await expect(agent.getByTestId('message').filter({ hasText: head }).locator('p')).toHaveText(sentence);
  await expect(agent.getByTestId('step-completed')).toHaveCount(0);
  const events = await conversationEvents(party.conversationId);
  expect(events.filter((e) => e.kind === 'message' && e.text === sentence)).toHaveLength(1);
  expect(events.filter((e) => e.kind === 'step_completed')).toEqual([]);
}

/** Nothing typed in the chat landed in the frame, and it shows no answer under way or refused. */
async function expectFrameUntouched(card: Locator, frame: FrameLocator, kind: Kind): Promise<void> {
  for (const label of kind.fields) await expect(frame.getByLabel(label)).toHaveValue('');
  await expect(frame.locator('.spc-status')).toHaveText('');
  await expect(frame.locator('.spc-alert')).toHaveText('');
  await expect(card.getByTestId('step-error')).toHaveCount(0);
  await expect(frame.locator('.spc-form')).not.toHaveAttribute('aria-busy', 'true');
  await expect(frame.getByRole('button', { name: kind.answer })).toBeVisible();
}

/**
 * The customer answers on the frame's own button, and the answer does reach the vault: the step
 * card shows its outcome (done, or the frame's request for a passkey), and a card payment is the
 * one completion the agent sees.
 */
async function answerDeliberately(party: Party, card: Locator, frame: FrameLocator, kind: Kind): Promise<void> {
  await kind.deliberate(frame);
  await expect(card.getByTestId('step-status').or(card.getByTestId('step-error'))).toBeVisible();
  if (kind.completed) {
    await expect(party.agent.getByTestId('step-completed')).toHaveCount(1);
    await expect(party.agent.getByTestId('step-completed')).toContainText(kind.completed);
  }
}

for (const kind of KINDS) {
  test(`${kind.kind}: a step arriving while the customer types takes no keystroke and no Enter`, async ({ browser }) => {
    const party = await start(browser, kind.kind.replace('_', '-'));
    const { customer, marker } = party;
    const head = `typing-${marker}`;
    const tail = `end-${marker}`;
    const first = `Wait, ${head}: before you send anything, I think `;
    const second = `the amount is wrong, ${tail}`;
    const sentence = `${first}${second}`;

    const input = customer.getByTestId('chat-input');
    await input.click();
    await customer.keyboard.type(first);

    const card = await requestStep(party, kind, `FOC-${marker}`);
    const frame = await expectArmed(card, kind);
    // The frame is ready to take an answer, and the keyboard is still the chat's.
    await expect(input).toBeFocused();

    await customer.keyboard.type(second);
    await customer.keyboard.press('Enter');

    await expectSentenceSentAndNothingAnswered(party, sentence, head, tail);
    await expectFrameUntouched(card, frame, kind);
    await expect(card).toHaveAttribute('data-state', 'frame');

    await answerDeliberately(party, card, frame, kind);

    await party.close();
  });
}

test('a frame the customer already used stays out of the chat, and so does a second step arriving while they type', async ({ browser }) => {
  const transfer = KINDS.find((k) => k.kind === 'transfer')!;
  const payee = KINDS.find((k) => k.kind === 'payee_confirmation')!;
  const party = await start(browser, 'opened');
  const { customer, marker } = party;

  // A transfer step arrives; the customer comes back later (a reload): the card offers a button,
  // and the frame opens only when they press it.
  const transferRef = `TRF-${marker}`;
  await requestStep(party, transfer, transferRef);
  await expect(customer.getByTestId('step-card').filter({ hasText: transferRef })).toHaveAttribute('data-state', 'frame');
  await customer.reload();
  await customer.getByTestId('chat-launcher').click();
  await expect(customer.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  const transferCard = customer.getByTestId('step-card').filter({ hasText: transferRef });
  await expect(transferCard).toHaveAttribute('data-state', 'idle');
  await transferCard.getByTestId('step-pay').click();
  const transferFrame = await expectArmed(transferCard, transfer);
  // They use the frame (a click on its summary), then go back to the chat to type.
  await transferFrame.getByText('Mallory Ltd').first().click();

  const head = `typing-${marker}`;
  const tail = `end-${marker}`;
  const first = `One more thing, ${head}: I do not know `;
  const second = `this payee at all, ${tail}`;
  const sentence = `${first}${second}`;
  const input = customer.getByTestId('chat-input');
  await input.click();
  await customer.keyboard.type(first);

  // A second step arrives while they type; its frame opens by itself.
  const payeeRef = `PAY-${marker}`;
  const payeeCard = await requestStep(party, payee, payeeRef);
  const payeeFrame = await expectArmed(payeeCard, payee);
  await expect(input).toBeFocused();

  await customer.keyboard.type(second);
  await customer.keyboard.press('Enter');

  await expectSentenceSentAndNothingAnswered(party, sentence, head, tail);
  await expectFrameUntouched(payeeCard, payeeFrame, payee);
  await expectFrameUntouched(transferCard, transferFrame, transfer);

  // The deliberate keyboard path still answers: Enter on the frame's own Decline button.
  await answerDeliberately(party, payeeCard, payeeFrame, payee);

  await party.close();
});
