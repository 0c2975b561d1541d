/**
 * Passkeys in the e2e stories: Chromium's virtual authenticator (CDP `WebAuthn`), attached to a
 * page, answers the vault frame's WebAuthn calls (the frame is a cross-site iframe of that page:
 * the page's authenticator serves it). `userVerified: false` gives a device that cannot verify
 * its user (no PIN, no biometrics).
 */
import { expect, type FrameLocator, type Locator, type Page } from '@playwright/test';
import { demoPhone } from '../../demo/idp.ts';
import { INTERNAL } from './env.ts';

export interface VirtualAuthenticator {
  /** Credentials the authenticator holds (one per passkey created). */
  credentials(): Promise<number>;
}

export async function addVirtualAuthenticator(page: Page, options: { userVerified?: boolean } = {}): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: options.userVerified ?? true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length,
  };
}

/** The enrolment code in a message the customer received ("123456 is your code to add a passkey ..."). */
export function passkeyCodeIn(text: string): string | null {
  return /\b([0-9]{6}) is your code to add a passkey\b/.exec(text)?.[1] ?? null;
}

/**
 * In the vault frame that just asked for a passkey: enter the code the customer received, create
 * the passkey (the virtual authenticator answers), and wait until the frame says it was added.
 */
export async function createPasskeyInFrame(frame: FrameLocator, code: () => Promise<string>): Promise<void> {
  const create = frame.getByRole('button', { name: 'Create passkey' });
  await expect(create).toBeEnabled();
  await frame.getByLabel('Code from your messaging app').fill(await code());
  await create.click();
  await expect(frame.getByText(/Passkey added/)).toBeVisible();
}

/**
 * The enrolment code the bank sent by SMS to the phone its IdP holds for `user` (the demo IdP's
 * {@link demoPhone}), read from the SMS double's thread for that number.
 */
export async function smsPasskeyCode(user: string): Promise<string> {
  const phone = demoPhone(user);
  let code: string | null = null;
  await expect
    .poll(async () => {
      const res = await fetch(`${INTERNAL.platforms}/sim/messages?platform=sms&user=${encodeURIComponent(phone)}`);
      const { messages } = (await res.json()) as { messages: { from: string; text: string }[] };
      code = messages.map((m) => passkeyCodeIn(m.text)).filter((c) => c !== null).at(-1) ?? null;
      return code;
    })
    .toMatch(/^[0-9]{6}$/);
  return code!;
}

/**
 * A customer signed in with the bank as `user` and without a passkey answers a step that needs
 * one: `answer` is pressed, the frame offers a passkey, the code comes by SMS, the passkey is
 * created, and `answer` is pressed again (the device then asks for the passkey).
 */
export async function answerWithNewPasskey(frame: FrameLocator, answer: Locator, user: string): Promise<void> {
  await expect(answer).toHaveAttribute('aria-disabled', 'false');
  await answer.click();
  await createPasskeyInFrame(frame, () => smsPasskeyCode(user));
  await expect(answer).toHaveAttribute('aria-disabled', 'false');
  await answer.click();
}
