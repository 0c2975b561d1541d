/**
 * Robert's story, end to end in Chromium: he writes to the bank on Messenger (the messenger
 * simulator, talking to the local double of Meta's platform, which signs real webhooks), the
 * advisor answers from the console and sends a secure link, Robert taps it, lands on the bank's
 * site with the whole conversation, is signed in in the background by the bank's IdP (demo), and
 * pays inside the vault frame. The platform, the chat server and every log never see the card
 * number; the link code never appears in a request URL or a Referer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type BrowserContext } from '@playwright/test';
import { DATA_DIR, INTERNAL, LOG_DIR, ORIGINS } from './env.ts';
import { agentLogin } from './agent.ts';
import { findLeaks, panVariants, readFiles } from './leaks.ts';
import { storedConversation } from './stored.ts';
import { submitBankLogin } from './customer.ts';

const PAN = '4242424242424242';
const CVC = '737';
const EXPIRY = `12 / ${String((new Date().getFullYear() + 3) % 100).padStart(2, '0')}`;

interface SentRequest {
  readonly url: string;
  readonly referer: string;
}

/** Every request any page of `context` sends: URL and Referer. */
function recordRequests(context: BrowserContext): SentRequest[] {
  const sent: SentRequest[] = [];
  context.on('request', (request) => {
    sent.push({ url: request.url(), referer: request.headers()['referer'] ?? '' });
  });
  return sent;
}

test('Robert moves from Messenger to the bank site: history kept, signed in in the background, pays in the vault', async ({ browser }) => {
  const marker = `fund-${Date.now().toString(36)}`;
  const phoneContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const phoneRequests = recordRequests(phoneContext);
  const agentRequests = recordRequests(agentContext);
  const phone = await phoneContext.newPage();
  const agent = await agentContext.newPage();

  // 1. Robert writes on Messenger.
  await phone.goto(`${ORIGINS.platforms}/`);
  await expect(phone.getByTestId('sim-platform')).toHaveValue('messenger');
  await phone.getByTestId('sim-input').fill(`Hi, I would like to buy into the Global Equity fund (${marker})`);
  await phone.getByTestId('sim-send').click();
  await expect(phone.getByTestId('sim-message').filter({ hasText: marker })).toBeVisible();
  // The chat server files a webhook's message into its conversation after answering the platform:
  // wait for it, so the console's first list has it.
  await storedConversation(marker);

  // 2. The advisor sees a Messenger conversation, answers, and sends the secure link.
  await agentLogin(agent);
  const item = agent.getByTestId('conversation-item').filter({ hasText: marker });
  await expect(item).toBeVisible();
  await expect(item.getByTestId('conversation-channel')).toHaveAttribute('data-channel', 'messenger');
  await item.click();
  await expect(agent.getByTestId('message').filter({ hasText: marker })).toContainText('Messenger');
  await agent.getByTestId('reply-input').fill('Happy to help. The purchase needs our secure site: I am sending you a link.');
  await agent.getByTestId('reply-send').click();
  await agent.getByTestId('send-secure-link').click();
  await expect(agent.getByTestId('secure-link-status')).toContainText('Messenger');

  // 3. Messenger shows the reply and the link as a button.
  await expect(phone.getByTestId('sim-message').filter({ hasText: 'Happy to help' })).toBeVisible();
  const link = phone.getByTestId('sim-link').last();
  await expect(link).toBeVisible();
  const href = (await link.getAttribute('href')) ?? '';
  const url = new URL(href);
  expect(url.origin).toBe(ORIGINS.bank);
  const code = new URLSearchParams(url.hash.slice(1)).get('pivot') ?? '';
  expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

  // 4. He taps it: the bank's site opens with the whole conversation, the code gone from the address bar.
  const [bank] = await Promise.all([phoneContext.waitForEvent('page'), link.click()]);
  await bank.waitForLoadState('domcontentloaded');
  await expect(bank.getByTestId('message').filter({ hasText: marker })).toBeVisible();
  await expect(bank.getByTestId('message').filter({ hasText: 'Happy to help' })).toBeVisible();
  expect(bank.url()).not.toContain(code);
  expect(bank.url()).not.toContain('pivot=');
  // The history is in order: his Messenger message comes before the advisor's answer.
  const texts = await bank.getByTestId('message').allTextContents();
  const first = texts.findIndex((t) => t.includes(marker));
  const answer = texts.findIndex((t) => t.includes('Happy to help'));
  expect(first).toBeGreaterThanOrEqual(0);
  expect(answer).toBeGreaterThan(first);
  // The link proved the Messenger account: the advisor sees the level rise.
  await expect(agent.getByTestId('conversation-header').getByTestId('conversation-acr')).toHaveAttribute('data-acr', 'channel');

  // 5. The advisor asks for the payment; the step needs the bank's login, which the page provides
  //    through its IdP (no OTP, no challenge question), and the step resumes by itself.
  await agent.getByTestId('pay-amount').fill('250.00');
  await agent.getByTestId('pay-currency').selectOption('EUR');
  await agent.getByTestId('pay-purpose').fill('Global Equity fund, first purchase');
  await agent.getByTestId('pay-reference').fill('FUND-0042');
  await agent.getByTestId('pay-request').click();
  await expect(bank.getByTestId('step-login-required')).toBeVisible();
  await submitBankLogin(bank, 'robert');
  await expect(agent.getByTestId('conversation-header').getByTestId('conversation-acr')).toHaveAttribute('data-acr', 'bank');
  await expect(bank.getByTestId('message').filter({ hasText: 'Signed in with the bank' })).toBeVisible();

  // 6. He pays inside the vault frame; both sides see brand and last 4 only.
  const frame = bank.frameLocator('[data-testid="vault-frame"]');
  await expect(frame.getByText('€250.00').first()).toBeVisible();
  await frame.getByLabel('Card number').fill(PAN);
  await frame.getByLabel(/expir/i).fill(EXPIRY);
  await frame.getByLabel(/security code|cvc/i).fill(CVC);
  // Pay counts once the form has been in full view for 500 ms; the button says when.
  await expect(frame.getByRole('button', { name: /pay/i })).toHaveAttribute('aria-disabled', 'false');
  await frame.getByRole('button', { name: /pay/i }).click();
  await expect(bank.getByTestId('step-status')).toContainText('4242');
  await expect(agent.getByTestId('step-completed')).toContainText('Visa •••• 4242');

  // 7. The link is single use: opening it again shows a clear message, never the conversation.
  const again = await browser.newContext();
  const second = await again.newPage();
  await second.goto(href);
  await expect(second.getByTestId('pivot-error')).toContainText(/already been used/i);
  await expect(second.getByTestId('message').filter({ hasText: marker })).toHaveCount(0);
  await again.close();

  // 8. The link code never travelled in a request URL or a Referer.
  for (const sent of [...phoneRequests, ...agentRequests]) {
    expect(sent.url, 'request URL').not.toContain(code);
    expect(sent.referer, `Referer of ${sent.url}`).not.toContain(code);
  }

  // 9. The card number reached neither the platform (its double's records), nor the chat
  //    database, nor any service log.
  const outbound = await (await fetch(`${INTERNAL.platforms}/sim/outbound`)).text();
  const thread = await (await fetch(`${INTERNAL.platforms}/sim/messages?platform=messenger`)).text();
  expect(outbound).toContain('Happy to help');
  const needles = panVariants(PAN);
  const leaks = findLeaks(
    [
      { where: 'platform double: outbound requests', text: outbound },
      { where: 'platform double: thread', text: thread },
      { where: 'chat database', text: readFileSync(join(DATA_DIR, 'chat.db')).toString('latin1') },
      ...readFiles(LOG_DIR, /\.log$/),
    ],
    needles,
  );
  expect(leaks).toEqual([]);
  // Nor is the code in any log.
  expect(findLeaks(readFiles(LOG_DIR, /\.log$/), [code])).toEqual([]);

  await phoneContext.close();
  await agentContext.close();
});
