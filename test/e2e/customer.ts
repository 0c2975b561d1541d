/**
 * The customer's side of the e2e stories on the demo bank page: open the chat and write, and sign
 * in with the demo bank's login form when a step asks for it.
 */
import { expect, type Page } from '@playwright/test';
import { ORIGINS } from './env.ts';
import { storedMessage } from './stored.ts';

/** The demo bank's login takes any password; this one is typed. */
export const DEMO_BANK_PASSWORD = 'demo';

/**
 * Opens the bank page and the chat, writes `text`, and waits until the chat server stored it
 * (found by `marker`, a part of it), so an agent who signs in next finds the conversation.
 */
export async function openChatAndWrite(page: Page, text: string, marker = text): Promise<void> {
  await page.goto(`${ORIGINS.bank}/`);
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('chat-status')).toHaveAttribute('data-status', 'online');
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-send').click();
  await expect(storedMessage(page, marker)).toBeVisible();
}

/** Fills and submits the bank page's login form (shown when a step needs the bank's login). */
export async function submitBankLogin(page: Page, user: string): Promise<void> {
  await page.getByTestId('bank-username').fill(user);
  await page.getByTestId('bank-password').fill(DEMO_BANK_PASSWORD);
  await page.getByTestId('bank-sign-in-submit').click();
}

/** A step asked for the bank's login: signs in as `user` and waits for the chat to say so. */
export async function signInForStep(page: Page, user: string): Promise<void> {
  await expect(page.getByTestId('step-login-required')).toBeVisible();
  await submitBankLogin(page, user);
  await expect(page.getByTestId('message').filter({ hasText: 'Signed in with the bank' })).toBeVisible();
}

/**
 * Signs in with the bank from the page itself, before any step asks: the open chat covers the
 * page's Sign in button, so it is closed, the customer signs in, and the chat is opened again.
 */
export async function signInFromPage(page: Page, user: string): Promise<void> {
  await page.getByTestId('chat-close').click();
  await page.getByTestId('bank-sign-in').click();
  await submitBankLogin(page, user);
  await page.getByTestId('chat-launcher').click();
  await expect(page.getByTestId('message').filter({ hasText: 'Signed in with the bank' })).toBeVisible();
}
