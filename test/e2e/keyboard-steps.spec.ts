/**
 * A step by keyboard alone (`page.keyboard`: Tab, Shift+Tab, Escape, Enter), and what assistive
 * technology is told:
 *
 * - a step that arrives by itself opens its frame without taking the keyboard; Shift+Tab from the
 *   chat input enters it, Escape there closes the form and puts the keyboard on the card's button;
 *   Enter on that button opens the frame again WITH the keyboard (the next Tab is in its form);
 *   after Pay, the keyboard is on the step's result in the log, not on <body>;
 * - every frame is named for its step, by the iframe's title and by the frame document's own;
 *   the answer buttons are described by why they wait until they are ready;
 * - where the panel covers the page (≤ 480 px wide or ≤ 700 px high) it is a modal dialog: Tab
 *   never reaches the bank's page under it; on a larger screen it is not modal. Escape closes it.
 *
 * No fixed waits: each step waits for the state it needs (the frame ready, its button armed).
 */
import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { agentLogin, openConversation } from './agent.ts';
import { openChatAndWrite, signInFromPage } from './customer.ts';

const PAN = '4242424242424242';
const EXPIRY = `12${String((new Date().getFullYear() + 3) % 100).padStart(2, '0')}`;
/** A window large enough that the panel is not full screen (so not modal). */
const LARGE = { width: 1366, height: 820 };
/** A short laptop window: the panel covers the page and is modal. */
const SHORT = { width: 1366, height: 640 };

interface Party {
  readonly customer: Page;
  readonly agent: Page;
  readonly marker: string;
  close(): Promise<void>;
}

/** A customer signed in to the bank (a step opens its frame at once) and an agent with the conversation open. */
async function start(browser: Browser, label: string, viewport: { width: number; height: number }): Promise<Party> {
  const marker = `${label}-${Date.now().toString(36)}`;
  const customerContext = await browser.newContext({ viewport });
  const agentContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const agent = await agentContext.newPage();
  await openChatAndWrite(customer, `Hello, a keyboard question (${marker}).`, marker);
  await signInFromPage(customer, `customer-${marker}`);
  await agentLogin(agent);
  await openConversation(agent, marker);
  return {
    customer,
    agent,
    marker,
    close: async () => {
      await customerContext.close();
      await agentContext.close();
    },
  };
}

async function requestCard(party: Party, reference: string): Promise<Locator> {
  const { agent, customer } = party;
  await agent.getByTestId('step-kind').selectOption('card_payment');
  await agent.getByTestId('pay-amount').fill('42.00');
  await agent.getByTestId('pay-currency').selectOption('EUR');
  await agent.getByTestId('pay-purpose').fill('Invoice 9');
  await agent.getByTestId('pay-reference').fill(reference);
  await agent.getByTestId('pay-request').click();
  return customer.getByTestId('step-card').filter({ hasText: reference });
}

/** The customer scrolls the chat to its end (moves no focus), so the whole form is in view. */
async function scrollChatToEnd(page: Page): Promise<void> {
  await page.getByTestId('chat-log').evaluate((log) => log.scrollTo(0, log.scrollHeight));
}

/** The title of the frame document shown in `card`'s iframe. */
async function frameDocumentTitle(card: Locator): Promise<string> {
  const frame = await (await card.getByTestId('vault-frame').elementHandle())!.contentFrame();
  return frame!.title();
}

test('a card payment by keyboard alone: Escape closes the form, the card button opens it with the keyboard, Pay leaves the keyboard on the result', async ({ browser }) => {
  // The short window of the other step specs: the whole card form fits the (full-screen) chat.
  const party = await start(browser, 'kbd-card', SHORT);
  const { customer } = party;
  const panel = customer.getByTestId('chat-panel');

  const input = customer.getByTestId('chat-input');
  await input.focus();
  const card = await requestCard(party, `KBD-${party.marker}`);
  const iframe = card.getByTestId('vault-frame');
  const frame = card.frameLocator('[data-testid="vault-frame"]');
  const pay = frame.getByRole('button', { name: /^pay/i });
  await expect(card).toHaveAttribute('data-ready', 'true');
  // Arrived by itself: the keyboard stays in the chat.
  await expect(input).toBeFocused();

  // Named for its step, inside and out.
  await expect(iframe).toHaveAttribute('title', 'Secure card payment');
  expect(await frameDocumentTitle(card)).toBe('Secure card payment');

  // Described by why it waits until it is armed, then by nothing. (The customer scrolls the chat
  // if the form is not all in view; scrolling moves no focus.)
  await expect(pay).toHaveAttribute('aria-describedby', 'spc-wait');
  await scrollChatToEnd(customer);
  await expect(pay).toHaveAttribute('aria-disabled', 'false');
  await expect(pay).toHaveAccessibleDescription('');

  // Shift+Tab from the chat input enters the frame (its last control); Escape closes the form.
  await customer.keyboard.press('Shift+Tab');
  await expect(pay).toBeFocused();
  await customer.keyboard.press('Escape');
  const button = card.getByTestId('step-pay');
  await expect(button).toBeFocused();
  await expect(iframe).toHaveCount(0);
  await expect(card).toHaveAttribute('data-state', 'idle');
  // The panel is still open: Escape in the frame closed only the form.
  await expect(panel).toBeVisible();

  // Enter on the card's button: the frame opens with the keyboard, the next Tab is in its form.
  await customer.keyboard.press('Enter');
  await expect(iframe).toBeFocused();
  await expect(card).toHaveAttribute('data-ready', 'true');
  await scrollChatToEnd(customer);
  await expect(iframe).toBeFocused();
  await customer.keyboard.press('Tab');
  await expect(frame.getByLabel(/card number/i)).toBeFocused();
  await customer.keyboard.type(PAN);
  await customer.keyboard.press('Tab');
  await customer.keyboard.type(EXPIRY);
  await customer.keyboard.press('Tab');
  await customer.keyboard.type('737');
  await customer.keyboard.press('Tab'); // name on card (optional)
  await customer.keyboard.press('Tab');
  await expect(pay).toBeFocused();
  await expect(pay).toHaveAttribute('aria-disabled', 'false');
  await customer.keyboard.press('Enter');

  // The result in the log has the keyboard (moved there before the frame went).
  const status = card.getByTestId('step-status');
  await expect(status).toHaveText('Visa •••• 4242 provided');
  await expect(status).toBeFocused();
  await expect(iframe).toHaveCount(0);
  expect(await customer.evaluate(() => document.activeElement?.localName)).toBe('secure-chat');

  // Escape in the panel closes it and gives the keyboard back to the launcher.
  await customer.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(customer.getByTestId('chat-launcher')).toBeFocused();

  await party.close();
});

test('every frame is named for its step; a decision is described by its wait too', async ({ browser }) => {
  const party = await start(browser, 'kbd-titles', LARGE);
  const { agent, customer, marker } = party;
  // Not full screen: the panel is not modal.
  await expect(customer.getByTestId('chat-panel')).toHaveAttribute('aria-modal', 'false');

  await agent.getByTestId('step-kind').selectOption('address_change');
  await agent.getByTestId('pay-purpose').fill('Update of postal address');
  await agent.getByTestId('pay-reference').fill(`ADR-${marker}`);
  await agent.getByTestId('pay-request').click();
  const address = customer.getByTestId('step-card').filter({ hasText: `ADR-${marker}` });
  await expect(address).toHaveAttribute('data-ready', 'true');
  await expect(address.getByTestId('vault-frame')).toHaveAttribute('title', 'Secure address change');
  expect(await frameDocumentTitle(address)).toBe('Secure address change');
  const save = address.frameLocator('[data-testid="vault-frame"]').getByRole('button', { name: /save/i });
  await expect(save).toHaveAttribute('aria-describedby', 'spc-wait');
  // Escape closes this one before the next step (one frame in view at a time).
  await save.focus();
  await customer.keyboard.press('Escape');
  await expect(address.getByTestId('step-pay')).toBeFocused();

  await agent.getByTestId('step-kind').selectOption('transfer');
  await agent.getByTestId('pay-amount').fill('80.00');
  await agent.getByTestId('pay-currency').selectOption('EUR');
  await agent.getByTestId('transfer-payee').fill('A. Martin');
  await agent.getByTestId('transfer-account').fill('1234');
  await agent.getByTestId('pay-purpose').fill('Rent');
  await agent.getByTestId('pay-reference').fill(`TRF-${marker}`);
  await agent.getByTestId('pay-request').click();
  const transfer = customer.getByTestId('step-card').filter({ hasText: `TRF-${marker}` });
  await expect(transfer).toHaveAttribute('data-ready', 'true');
  await expect(transfer.getByTestId('vault-frame')).toHaveAttribute('title', 'Secure transfer confirmation');
  expect(await frameDocumentTitle(transfer)).toBe('Secure transfer confirmation');
  const frame = transfer.frameLocator('[data-testid="vault-frame"]');
  const decisions = [frame.getByRole('button', { name: /confirm transfer/i }), frame.getByRole('button', { name: 'Decline' })];
  // While the page keeps a layer over the frame, the buttons wait, and say so before any press
  // (what they wait for, as far as the frame can tell).
  await customer.evaluate(() => {
    const layer = document.createElement('div');
    layer.id = 'cover';
    layer.style.cssText = 'position:fixed;inset:0;z-index:2147483647;pointer-events:none;background:transparent';
    document.body.append(layer);
  });
  for (const decision of decisions) {
    await expect(decision).toHaveAttribute('aria-describedby', 'spc-wait');
    await expect(decision).toHaveAttribute('aria-disabled', 'true');
    await expect(decision).toHaveAccessibleDescription(/^Available when/);
  }
  await customer.evaluate(() => document.getElementById('cover')!.remove());
  for (const decision of decisions) {
    await expect(decision).toHaveAttribute('aria-disabled', 'false');
    await expect(decision).toHaveAccessibleDescription('');
  }

  await party.close();
});

test('where the panel covers the page it is a modal dialog: Tab stays in it, never in the bank page under it', async ({ browser }) => {
  const party = await start(browser, 'kbd-modal', SHORT);
  const { customer } = party;
  const panel = customer.getByTestId('chat-panel');
  await expect(panel).toHaveAttribute('aria-modal', 'true');
  await expect(customer.getByTestId('chat-input')).toBeFocused();

  // Round the panel twice over (close, log, input, send, …): never a bank page element.
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    await customer.keyboard.press('Tab');
    const where = await customer.evaluate(() => {
      const active = document.activeElement;
      if (!active || active === document.body) return 'body';
      if (active.localName !== 'secure-chat') return `page:${active.outerHTML.slice(0, 80)}`;
      return active.shadowRoot?.activeElement?.getAttribute('data-testid') ?? active.shadowRoot?.activeElement?.localName ?? 'secure-chat';
    });
    expect(where).not.toMatch(/^page:/);
    seen.add(where);
  }
  // It went round the panel's own controls.
  expect(seen).toContain('chat-input');
  expect(seen).toContain('chat-close');

  // Escape closes it; the page is usable again.
  await customer.getByTestId('chat-input').focus();
  await customer.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(customer.getByTestId('chat-launcher')).toBeFocused();
  await customer.keyboard.press('Shift+Tab');
  expect(await customer.evaluate(() => document.activeElement?.localName)).not.toBe('secure-chat');

  await party.close();
});
