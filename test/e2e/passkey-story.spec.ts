/**
 * Robert's story with his passkey, end to end in Chromium with its virtual authenticator:
 *
 * 1. From Messenger to the bank's site, signed in with the bank; the advisor asks him to confirm a
 *    transfer. The vault wants his passkey, which he has not got: the frame offers to create one,
 *    the code arrives in Messenger (never on the bank's page), he types it in the frame, the
 *    authenticator creates the passkey, and he confirms with it.
 * 2. Another day, a new link from Messenger: he is verified by the link only (acr `channel`), the
 *    advisor asks for another transfer, and ONE passkey tap in the frame both answers it and signs
 *    him in to the bank's level: no password, no code, no question. The advisor's console says
 *    "Verified by passkey".
 */
import { expect, test, type Page } from '@playwright/test';
import { INTERNAL, ORIGINS } from './env.ts';
import { agentLogin } from './agent.ts';
import { storedConversation } from './stored.ts';
import { openChatAndWrite, signInForStep, submitBankLogin } from './customer.ts';
import { addVirtualAuthenticator, answerWithNewPasskey, createPasskeyInFrame, passkeyCodeIn, smsPasskeyCode } from './passkey.ts';

/** Robert writes on Messenger; the advisor opens the conversation and sends the secure link; returns it. */
async function linkFromMessenger(phone: Page, agent: Page, text: string, marker: string): Promise<string> {
  await phone.getByTestId('sim-input').fill(text);
  await phone.getByTestId('sim-send').click();
  await storedConversation(marker);
  await agent.getByTestId('conversation-item').filter({ hasText: marker }).first().click();
  const links = phone.getByTestId('sim-link');
  const before = await links.count();
  await agent.getByTestId('send-secure-link').click();
  await expect(agent.getByTestId('secure-link-status')).toContainText('Messenger');
  await expect(links).toHaveCount(before + 1);
  return (await links.last().getAttribute('href')) ?? '';
}

async function requestTransfer(agent: Page, amount: string, payee: string, reference: string): Promise<void> {
  await agent.getByTestId('step-kind').selectOption('transfer');
  await agent.getByTestId('pay-amount').fill(amount);
  await agent.getByTestId('pay-currency').selectOption('EUR');
  await agent.getByTestId('transfer-payee').fill(payee);
  await agent.getByTestId('transfer-account').fill('1234');
  await agent.getByTestId('pay-purpose').fill('Fund top-up');
  await agent.getByTestId('pay-reference').fill(reference);
  await agent.getByTestId('pay-request').click();
}

test('Robert adds a passkey inside the vault frame, then signs in with one tap after the next pivot', async ({ browser }) => {
  const marker = `passkey-${Date.now().toString(36)}`;
  const phoneContext = await browser.newContext();
  const bankContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const phone = await phoneContext.newPage();
  const bank = await bankContext.newPage();
  const agent = await agentContext.newPage();
  const authenticator = await addVirtualAuthenticator(bank);

  await phone.goto(`${ORIGINS.platforms}/`);
  await expect(phone.getByTestId('sim-platform')).toHaveValue('messenger');
  // A Messenger user of his own (a page-scoped id), so that no other story's conversation is his.
  await phone.getByTestId('sim-user').fill(`2${Date.now().toString().slice(-15)}`);
  await agentLogin(agent);

  // ---- First visit: sign in with the bank, create the passkey, confirm with it ----
  const first = await linkFromMessenger(phone, agent, `Hello, I want to top up my fund (${marker})`, marker);
  await bank.goto(first);
  await expect(bank.getByTestId('message').filter({ hasText: marker })).toBeVisible();
  await requestTransfer(agent, '950.00', 'A. Martin', `TOP-1-${marker}`);
  await expect(bank.getByTestId('step-login-required')).toBeVisible();
  await submitBankLogin(bank, `robert-${marker}`);

  const frame = bank.frameLocator('[data-testid="vault-frame"]');
  const confirm = frame.getByRole('button', { name: 'Confirm transfer of €950.00' });
  await expect(confirm).toHaveAttribute('aria-disabled', 'false');
  await confirm.click();
  // No passkey yet: the frame offers one; the code goes to Messenger, not to the bank's page.
  const codeMessage = phone.getByTestId('sim-message').filter({ hasText: 'is your code to add a passkey' });
  await createPasskeyInFrame(frame, async () => {
    await expect(codeMessage).toBeVisible();
    return passkeyCodeIn((await codeMessage.last().textContent()) ?? '') ?? '';
  });
  expect(await authenticator.credentials()).toBe(1);
  const code = passkeyCodeIn((await codeMessage.last().textContent()) ?? '')!;
  await expect(agent.getByTestId('message').filter({ hasText: 'A passkey was added' })).toBeVisible();

  await expect(confirm).toHaveAttribute('aria-disabled', 'false');
  await confirm.click();
  await expect(agent.getByTestId('step-completed').filter({ hasText: 'A. Martin' })).toContainText('Transfer of €950.00 to A. Martin (…1234) confirmed · verified by passkey');
  await expect(bank.getByTestId('step-status').last()).toHaveText('Transfer confirmed');
  // The code reached neither the bank's page (its chat) nor the agent's.
  expect((await bank.getByTestId('message').allTextContents()).join('\n')).not.toContain(code);
  expect(await agent.locator('body').textContent()).not.toContain(code);

  // ---- Another day: a new link, the link only, then one tap ----
  const marker2 = `${marker}-again`;
  const second = await linkFromMessenger(phone, agent, `Me again, one more top-up (${marker2})`, marker2);
  // His bank session has ended since (no IdP cookie to sign him in in the background); the
  // passkey is on his device (this page's authenticator).
  await bankContext.clearCookies();
  await bank.goto('about:blank'); // a new load of the bank's site, not a change of the fragment only
  await bank.goto(second);
  await expect(bank.getByTestId('message').filter({ hasText: marker2 })).toBeVisible();
  await expect(bank.getByTestId('message').filter({ hasText: "Customer continued on the bank's site" })).toHaveCount(2);
  await requestTransfer(agent, '120.00', 'A. Martin', `TOP-2-${marker}`);
  const tap = frame.getByRole('button', { name: 'Confirm transfer of €120.00' });
  await expect(tap).toHaveAttribute('aria-disabled', 'false');
  await tap.click();
  await expect(agent.getByTestId('step-completed').filter({ hasText: '€120.00' })).toContainText('confirmed · verified by passkey');
  await expect(agent.getByTestId('conversation-header').getByTestId('conversation-acr')).toHaveAttribute('data-acr', 'bank');
  await expect(agent.getByTestId('conversation-header').getByTestId('conversation-acr')).toHaveText('Verified by passkey');
  await expect(bank.getByTestId('message').filter({ hasText: 'Signed in with a passkey' })).toBeVisible();
  // No password, no code, no question this time.
  await expect(bank.getByTestId('step-login-required')).toHaveCount(0);
  expect(await authenticator.credentials()).toBe(1);

  // A card payment: he holds a passkey, so it is asked for here too (the device answers).
  await agent.getByTestId('step-kind').selectOption('card_payment');
  await agent.getByTestId('pay-amount').fill('30.00');
  await agent.getByTestId('pay-currency').selectOption('EUR');
  await agent.getByTestId('pay-purpose').fill('Fund fee');
  await agent.getByTestId('pay-reference').fill(`FEE-${marker}`);
  await agent.getByTestId('pay-request').click();
  const cardFrame = bank.frameLocator('[data-testid="vault-frame"]').last();
  await expect(cardFrame.getByText('€30.00').first()).toBeVisible();
  await cardFrame.getByLabel('Card number').fill('4242424242424242');
  await cardFrame.getByLabel(/expir/i).fill(`12 / ${String((new Date().getFullYear() + 3) % 100).padStart(2, '0')}`);
  await cardFrame.getByLabel(/security code|cvc/i).fill('737');
  await expect(cardFrame.getByRole('button', { name: /pay/i })).toHaveAttribute('aria-disabled', 'false');
  await cardFrame.getByRole('button', { name: /pay/i }).click();
  await expect(agent.getByTestId('step-completed').filter({ hasText: 'Visa' })).toContainText('Card provided: Visa •••• 4242 · verified by passkey');

  // The platform's double recorded the code's message as a plain send to Robert, and nothing else.
  const outbound = await (await fetch(`${INTERNAL.platforms}/sim/outbound`)).text();
  expect(outbound.split(code).length - 1).toBe(1);

  await phoneContext.close();
  await bankContext.close();
  await agentContext.close();
});

test('a device that cannot verify its user adds no passkey, and the step stays unanswered', async ({ browser }) => {
  const marker = `no-uv-${Date.now().toString(36)}`;
  const customerContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const agent = await agentContext.newPage();
  const authenticator = await addVirtualAuthenticator(customer, { userVerified: false });
  const user = `customer-${marker}`;

  await openChatAndWrite(customer, `Please confirm my payee (${marker}).`, marker);
  await agentLogin(agent);
  await agent.getByTestId('conversation-item').filter({ hasText: marker }).first().click();
  await agent.getByTestId('step-kind').selectOption('payee_confirmation');
  await agent.getByTestId('transfer-payee').fill('B. Okafor');
  await agent.getByTestId('transfer-account').fill('9876');
  await agent.getByTestId('pay-purpose').fill('New payee');
  await agent.getByTestId('pay-reference').fill(`PAY-${marker}`);
  await agent.getByTestId('pay-request').click();
  await signInForStep(customer, user);

  const frame = customer.frameLocator('[data-testid="vault-frame"]');
  const confirm = frame.getByRole('button', { name: 'Confirm new payee' });
  await expect(confirm).toHaveAttribute('aria-disabled', 'false');
  await confirm.click();
  const create = frame.getByRole('button', { name: 'Create passkey' });
  await expect(create).toBeEnabled();
  await frame.getByLabel('Code from your messaging app').fill(await smsPasskeyCode(user));
  await create.click();
  // Either the browser refuses to create it (no user verification) or the vault refuses the
  // unverified attestation: no passkey, and the frame says so.
  await expect(frame.getByRole('status').filter({ hasText: /not created|could not be added/ })).toBeVisible();
  await expect(agent.getByTestId('message').filter({ hasText: 'A passkey was added' })).toHaveCount(0);
  await expect(confirm).toBeDisabled();
  await expect(agent.getByTestId('step-completed')).toHaveCount(0);
  expect(await authenticator.credentials()).toBeLessThanOrEqual(1);

  await customerContext.close();
  await agentContext.close();
});

test('on a new device the customer adds a second passkey there (bank sign-in and a code by SMS), then answers with it', async ({ browser }) => {
  const marker = `new-device-${Date.now().toString(36)}`;
  const user = `customer-${marker}`;
  const agentContext = await browser.newContext();
  const agent = await agentContext.newPage();
  await agentLogin(agent);

  /** The agent asks for a new payee in the customer's conversation; returns the frame's Confirm. */
  const askPayee = async (page: Page, name: string) => {
    await agent.getByTestId('conversation-item').filter({ hasText: marker }).first().click();
    await agent.getByTestId('step-kind').selectOption('payee_confirmation');
    await agent.getByTestId('transfer-payee').fill(name);
    await agent.getByTestId('transfer-account').fill('4321');
    await agent.getByTestId('pay-purpose').fill('New payee');
    await agent.getByTestId('pay-reference').fill(`PAY-${name.slice(0, 2)}-${marker}`);
    await agent.getByTestId('pay-request').click();
    return page.frameLocator('[data-testid="vault-frame"]').last().getByRole('button', { name: 'Confirm new payee' });
  };

  // The laptop: the first passkey.
  const laptopContext = await browser.newContext();
  const laptop = await laptopContext.newPage();
  await addVirtualAuthenticator(laptop);
  await openChatAndWrite(laptop, `Adding payees today (${marker}).`, marker);
  const first = await askPayee(laptop, 'C. Laptop');
  await signInForStep(laptop, user);
  await answerWithNewPasskey(laptop.frameLocator('[data-testid="vault-frame"]').last(), first, user);
  await expect(agent.getByTestId('step-completed').filter({ hasText: 'C. Laptop' })).toContainText('verified by passkey');
  await laptopContext.close();

  // The phone: signed in with the bank, it holds none of the customer's passkeys.
  const phoneContext = await browser.newContext();
  const phone = await phoneContext.newPage();
  const phoneAuthenticator = await addVirtualAuthenticator(phone);
  await openChatAndWrite(phone, `From my phone now (${marker}-phone).`, `${marker}-phone`);
  const second = await askPayee(phone, 'D. Phone');
  await signInForStep(phone, user);
  const frame = phone.frameLocator('[data-testid="vault-frame"]').last();
  await expect(second).toHaveAttribute('aria-disabled', 'false');
  await second.click();
  const add = frame.getByRole('button', { name: 'Add a passkey on this device' });
  await expect(add).toBeVisible();
  await add.click();
  await createPasskeyInFrame(frame, () => smsPasskeyCode(user));
  expect(await phoneAuthenticator.credentials()).toBe(1);
  await expect(second).toHaveAttribute('aria-disabled', 'false');
  await second.click();
  await expect(agent.getByTestId('step-completed').filter({ hasText: 'D. Phone' })).toContainText('New payee D. Phone (…4321) confirmed · verified by passkey');

  await phoneContext.close();
  await agentContext.close();
});
