/**
 * The product's spine, end to end in Chromium across three sites: a customer chats in the bank's
 * page, the agent asks for a card payment from the console, the customer signs in (step-up) and
 * pays inside the vault frame, the agent sees "Visa •••• 4242" — and the card number is found
 * nowhere outside the vault.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { FRAME_INITIAL_HEIGHT_PX } from '../../protocol/frame.ts';
import { DATA_DIR, LOG_DIR, ORIGINS } from './env.ts';
import { agentLogin } from './agent.ts';
import { findLeaks, hostVisibleState, panVariants, readFiles, recordTraffic } from './leaks.ts';
import { openChatAndWrite, submitBankLogin } from './customer.ts';
import { secretsIn } from '../secret-scan.ts';

const PAN = '4242424242424242';
const CVC = '737';
const EXPIRY = `12 / ${String((new Date().getFullYear() + 3) % 100).padStart(2, '0')}`;

async function fillCard(customer: Page, number = PAN): Promise<void> {
  const frame = customer.frameLocator('[data-testid="vault-frame"]');
  await frame.getByLabel('Card number').fill(number);
  await frame.getByLabel(/expir/i).fill(EXPIRY);
  await frame.getByLabel(/security code|cvc/i).fill(CVC);
}

test('a customer pays by card inside the vault frame and the agent sees only brand and last 4', async ({ browser }) => {
  const customerContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const agent = await agentContext.newPage();
  const customerTraffic = recordTraffic(customer, ORIGINS.vault);
  const agentTraffic = recordTraffic(agent, ORIGINS.vault);

  // The customer opens the chat on the bank's page and writes.
  await openChatAndWrite(customer, 'Hello, I would like to pay my invoice INV-2291.', 'INV-2291');

  // The agent sees it, answers, and asks for a card payment.
  await agentLogin(agent);
  const conversation = agent.getByTestId('conversation-item').filter({ hasText: 'INV-2291' });
  await conversation.first().click();
  await expect(agent.getByTestId('message').filter({ hasText: 'INV-2291' })).toBeVisible();
  await agent.getByTestId('reply-input').fill('Of course. I am sending you a secure payment request.');
  await agent.getByTestId('reply-send').click();
  await expect(customer.getByTestId('message').filter({ hasText: 'secure payment request' })).toBeVisible();

  await agent.getByTestId('pay-amount').fill('12.50');
  await agent.getByTestId('pay-currency').selectOption('EUR');
  await agent.getByTestId('pay-purpose').fill('Invoice INV-2291');
  await agent.getByTestId('pay-reference').fill('INV-2291');
  await agent.getByTestId('pay-request').click();

  // The customer is anonymous: the step policy asks for the bank's login first.
  const stepCard = customer.getByTestId('step-card').last();
  await expect(stepCard).toContainText('12.50');
  // A live request starts by itself; the anonymous session is below the step's level.
  await expect(customer.getByTestId('step-login-required')).toBeVisible();
  await expect(customer.locator('[data-testid="vault-frame"]')).toHaveCount(0);
  // The bank's page handles the login (its own UI), then the widget resumes the step by itself.
  await submitBankLogin(customer, 'robert');

  // The vault frame appears inline, showing amount and purpose from the SIGNED token. Its height
  // is reserved before it loads, so nothing in the chat jumps when it does.
  const frameEl = customer.locator('[data-testid="vault-frame"]');
  await expect(frameEl).toBeVisible();
  const firstHeight = await frameEl.evaluate((el) => el.getBoundingClientRect().height);
  expect(firstHeight).toBeGreaterThanOrEqual(FRAME_INITIAL_HEIGHT_PX - 1);
  await expect(frameEl).toHaveAttribute('sandbox', /allow-scripts/);
  await expect(frameEl).not.toHaveAttribute('sandbox', /allow-top-navigation|allow-popups/);
  await expect(frameEl).toHaveAttribute('referrerpolicy', 'no-referrer');
  const frame = customer.frameLocator('[data-testid="vault-frame"]');
  await expect(frame.getByText('€12.50').first()).toBeVisible();
  await expect(frame.getByText('Invoice INV-2291').first()).toBeVisible();

  // The agent's console says the customer is now signed in with the bank.
  await expect(agent.getByTestId('conversation-header').getByTestId('conversation-acr')).toHaveAttribute('data-acr', 'bank');

  // The step-up shows in the conversation, for both sides.
  await expect(customer.getByTestId('message').filter({ hasText: 'Signed in with the bank' })).toBeVisible();

  await fillCard(customer);
  // Pay counts once the form has been in full view for 500 ms; the button says when.
  await expect(frame.getByRole('button', { name: /pay/i })).toHaveAttribute('aria-disabled', 'false');
  await frame.getByRole('button', { name: /pay/i }).click();

  // Both sides see the result; only brand and last 4.
  await expect(customer.getByTestId('step-status')).toContainText('4242');
  await expect(agent.getByTestId('step-completed')).toContainText('Visa •••• 4242');

  // ---- Leak assertions: the PAN is nowhere outside the vault. ----
  const needles = [...panVariants(PAN)];
  const hostState = await hostVisibleState(customer);
  expect(hostState).toContain('4242'); // the check reads real state: last 4 is shown
  const places = [
    { where: 'customer host page state', text: hostState },
    { where: 'agent console state', text: await hostVisibleState(agent) },
    ...customerTraffic,
    ...agentTraffic,
    ...readFiles(DATA_DIR, /^chat\.db/),
    ...readFiles(LOG_DIR, /\.log$/),
  ];
  expect(customerTraffic.some((r) => r.where.startsWith('ws '))).toBe(true);
  expect(findLeaks(places, needles)).toEqual([]);
  // The CVC never reaches the chat's records either (as a number of its own: a 3-digit number is
  // bound to turn up inside timestamps and ids).
  for (const place of [...readFiles(DATA_DIR, /^chat\.db/), ...readFiles(LOG_DIR, /\.log$/)]) expect(secretsIn(place.text, [CVC]), place.where).toEqual([]);
  // The vault stores the PAN encrypted: not even its own database holds it in clear.
  expect(findLeaks(readFiles(DATA_DIR, /^vault\.db/), needles)).toEqual([]);
  // No CSP or Trusted Types violation on the strict bank page or in the vault frame.
  const violations = customerTraffic.filter(
    (r) => r.where.startsWith('console') && /Content Security Policy|Trusted Type|Refused to/i.test(r.text),
  );
  expect(violations).toEqual([]);
  // Sanity: the chat database was really read and holds the conversation.
  expect(readFiles(DATA_DIR, /^chat\.db/).map((f) => f.text).join('')).toContain('INV-2291');

  await customerContext.close();
  await agentContext.close();
});

test('the conversation survives a reload: history is shown once, in order, with nothing lost', async ({ page }) => {
  await page.goto(`${ORIGINS.bank}/`);
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  for (const text of ['first message', 'second message', 'third message']) {
    await page.getByTestId('chat-input').fill(text);
    await page.getByTestId('chat-send').click();
  }
  await expect(page.getByTestId('message').filter({ hasText: 'third message' })).toBeVisible();
  await page.reload();
  await page.getByTestId('chat-launcher').click();
  const rows = page.getByTestId('message').filter({ hasText: /(first|second|third) message/ });
  await expect(rows).toHaveCount(3);
  await expect(rows).toHaveText([/first message/, /second message/, /third message/]);
});

test('a card number typed into the chat itself is masked before anyone stores or sees it', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const traffic = recordTraffic(page, ORIGINS.vault);
  await page.goto(`${ORIGINS.bank}/`);
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  await page.getByTestId('chat-input').fill('my card is 5555 5555 5555 4444 ok?');
  await page.getByTestId('chat-send').click();
  const row = page.getByTestId('message').filter({ hasText: 'my card is' });
  await expect(row).toContainText('4444');
  await expect(row).not.toContainText('5555 5555 5555 4444');
  expect(findLeaks(readFiles(DATA_DIR, /^chat\.db/), panVariants('5555555555554444'))).toEqual([]);
  // The detector sees what the customer typed leave the page (so it can fail), and the server's
  // echo comes back masked.
  const sent = traffic.filter((r) => r.where.startsWith('ws sent'));
  const received = traffic.filter((r) => r.where.startsWith('ws received'));
  expect(findLeaks(sent, panVariants('5555555555554444')).length).toBeGreaterThan(0);
  expect(received.some((r) => r.text.includes('my card is'))).toBe(true);
  expect(findLeaks(received, panVariants('5555555555554444'))).toEqual([]);
  expect(readFileSync(join(LOG_DIR, 'chat.log'), 'utf8')).not.toContain('5555555555554444');
  await context.close();
});
