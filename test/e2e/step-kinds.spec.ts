/**
 * The two steps beyond card payments, in Chromium across the three sites: an address change and
 * a transfer confirmation, each asked by the agent, each behind the bank's login, each collected
 * inside the vault frame and answered with the customer's passkey (created at the first answer,
 * its code sent by SMS to the phone the bank holds). The street and postcode are found nowhere outside the vault; the agent
 * sees a summary; the transfer's amount and payee shown to the customer come from the signed token.
 */
import { expect, test } from '@playwright/test';
import { DATA_DIR, LOG_DIR, ORIGINS } from './env.ts';
import { agentLogin } from './agent.ts';
import { findLeaks, hostVisibleState, readFiles, recordTraffic } from './leaks.ts';
import { openChatAndWrite, signInForStep } from './customer.ts';
import { addVirtualAuthenticator, answerWithNewPasskey } from './passkey.ts';

const STREET = '221B Baker Street';
const POSTCODE = 'NW1 6XE';

// A short laptop window (1366x768 minus the browser's own bars): the tallest form must still fit
// the chat fully, since the frame acts only while it is entirely visible.
test.use({ viewport: { width: 1366, height: 640 } });

test('an address change and a transfer confirmation happen inside the vault frame; the street never leaves it', async ({ browser }) => {
  const marker = `moving-${Date.now().toString(36)}`;
  const customerContext = await browser.newContext();
  const agentContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const agent = await agentContext.newPage();
  // The customer's device, with its authenticator: these kinds are answered with a passkey.
  await addVirtualAuthenticator(customer);
  const customerTraffic = recordTraffic(customer, ORIGINS.vault);
  const agentTraffic = recordTraffic(agent, ORIGINS.vault);

  await openChatAndWrite(customer, `I have moved and need to update my address (${marker}).`, marker);

  await agentLogin(agent);
  await agent.getByTestId('conversation-item').filter({ hasText: marker }).first().click();

  // ---- Address change ----
  await agent.getByTestId('step-kind').selectOption('address_change');
  await agent.getByTestId('pay-purpose').fill('Update of postal address');
  await agent.getByTestId('pay-reference').fill(`ADDR-${marker}`);
  await agent.getByTestId('pay-request').click();

  await signInForStep(customer, `customer-${marker}`);

  const frame = customer.frameLocator('[data-testid="vault-frame"]');
  await expect(frame.getByText('Update of postal address').first()).toBeVisible();
  await frame.getByLabel(/^address$/i).fill(STREET);
  await frame.getByLabel(/postcode/i).fill(POSTCODE);
  await frame.getByLabel(/city/i).fill('London');
  await frame.getByLabel(/country/i).fill('GB');
  // An answer counts once the form has been in full view for 500 ms; the button says when.
  // No passkey yet: the first answer creates one (its code comes by SMS), then answers with it.
  await answerWithNewPasskey(frame, frame.getByRole('button', { name: /save|address/i }), `customer-${marker}`);
  await expect(agent.getByTestId('step-completed').filter({ hasText: 'London' })).toContainText('Address change received: London, GB');
  await expect(customer.getByTestId('step-status').filter({ hasText: 'London' })).toBeVisible();

  // ---- Transfer confirmation ----
  await agent.getByTestId('step-kind').selectOption('transfer');
  await agent.getByTestId('pay-amount').fill('250.00');
  await agent.getByTestId('pay-currency').selectOption('EUR');
  await agent.getByTestId('transfer-payee').fill('A. Martin');
  await agent.getByTestId('transfer-account').fill('1234');
  await agent.getByTestId('pay-purpose').fill('Rent deposit');
  await agent.getByTestId('pay-reference').fill(`TRF-${marker}`);
  await agent.getByTestId('pay-request').click();

  const transferFrame = customer.frameLocator('[data-testid="vault-frame"]').last();
  await expect(transferFrame.getByText('A. Martin').first()).toBeVisible();
  await expect(transferFrame.getByText('€250.00').first()).toBeVisible();
  await expect(transferFrame.getByRole('button', { name: /confirm/i })).toHaveAttribute('aria-disabled', 'false');
  await transferFrame.getByRole('button', { name: /confirm/i }).click();
  await expect(agent.getByTestId('step-completed').filter({ hasText: 'A. Martin' })).toContainText(
    'Transfer of €250.00 to A. Martin (…1234) confirmed · verified by passkey',
  );

  // ---- The street and postcode never left the vault ----
  const needles = [STREET, POSTCODE];
  const hostState = await hostVisibleState(customer);
  expect(hostState).toContain('London'); // the check reads real state: the summary is shown
  const places = [
    { where: 'customer host page state', text: hostState },
    { where: 'agent console state', text: await hostVisibleState(agent) },
    ...customerTraffic,
    ...agentTraffic,
    ...readFiles(DATA_DIR, /^chat\.db/),
    ...readFiles(LOG_DIR, /\.log$/),
  ];
  expect(findLeaks(places, needles)).toEqual([]);
  // The vault keeps it encrypted: not in its own database in clear either.
  expect(findLeaks(readFiles(DATA_DIR, /^vault\.db/), needles)).toEqual([]);

  await customerContext.close();
  await agentContext.close();
});
