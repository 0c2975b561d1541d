/**
 * The fourth step kind, added through the step registry (docs/adding-a-step-kind.md), end to end
 * in Chromium across the three sites: the agent asks the customer to confirm a new payee; the
 * customer signs in with the bank, sees the payee in the vault frame (from the signed token) and
 * confirms there; the agent sees the answer.
 */
import { expect, test } from '@playwright/test';
import { agentLogin } from './agent.ts';
import { openChatAndWrite, signInForStep } from './customer.ts';
import { addVirtualAuthenticator, answerWithNewPasskey } from './passkey.ts';

test('a new payee is confirmed inside the vault frame, and the agent sees the answer', async ({ browser }) => {
  const marker = `payee-${Date.now().toString(36)}`;
  const customerContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const agent = await agentContext.newPage();
  await addVirtualAuthenticator(customer);

  await openChatAndWrite(customer, `I want to pay my new landlord (${marker}).`, marker);

  await agentLogin(agent);
  await agent.getByTestId('conversation-item').filter({ hasText: marker }).first().click();
  await agent.getByTestId('step-kind').selectOption('payee_confirmation');
  // The form asks for exactly this kind's fields: a payee, no amount.
  await expect(agent.getByTestId('pay-amount')).toHaveCount(0);
  await agent.getByTestId('transfer-payee').fill('B. Okafor');
  await agent.getByTestId('transfer-account').fill('9876');
  await agent.getByTestId('pay-purpose').fill('Landlord as a new payee');
  await agent.getByTestId('pay-reference').fill(`PAY-${marker}`);
  await agent.getByTestId('pay-request').click();

  await expect(customer.getByTestId('step-card').last()).toContainText('Confirm new payee: B. Okafor');
  await signInForStep(customer, `customer-${marker}`);

  const frame = customer.frameLocator('[data-testid="vault-frame"]');
  await expect(frame.getByText('To B. Okafor (account ending 9876)')).toBeVisible();
  // The customer's first answer creates their passkey (the code comes by SMS), then confirms with it.
  await answerWithNewPasskey(frame, frame.getByRole('button', { name: 'Confirm new payee' }), `customer-${marker}`);

  await expect(agent.getByTestId('step-completed').filter({ hasText: 'B. Okafor' })).toContainText('New payee B. Okafor (…9876) confirmed · verified by passkey');
  await expect(customer.getByTestId('step-status').last()).toHaveText('New payee confirmed');

  await customerContext.close();
  await agentContext.close();
});
