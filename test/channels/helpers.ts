/**
 * Fixtures for the channel tests: the platform doubles (port 0) and a real chat server (port 0)
 * configured with the same secrets, API bases pointing at the doubles.
 */
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { startPlatforms, type PlatformsConfig, type PlatformsServer } from '../../demo/platforms/server.ts';
import type { ChatServerOptions } from '../../server/app.ts';
import { startChat, type Running } from '../server/helpers.ts';

export const SECRETS = {
  MESSENGER_APP_SECRET: 'messenger-app-secret-test',
  MESSENGER_VERIFY_TOKEN: 'messenger-verify-test',
  MESSENGER_PAGE_TOKEN: 'messenger-page-token-test',
  MESSENGER_PAGE_ID: '100200300400500',
  WHATSAPP_APP_SECRET: 'whatsapp-app-secret-test',
  WHATSAPP_VERIFY_TOKEN: 'whatsapp-verify-test',
  WHATSAPP_TOKEN: 'whatsapp-token-test',
  WHATSAPP_PHONE_NUMBER_ID: '1098765432',
  TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-test',
  TWILIO_FROM_NUMBER: '+15005550006',
} as const;

export const TWILIO_URL = 'http://chat.localhost:8081/webhooks/twilio/sms';

export interface Clocked {
  now: number;
}

export interface Harness {
  readonly chat: Running;
  readonly platforms: PlatformsServer;
  readonly time: Clocked;
  close(): Promise<void>;
}

export async function startHarness(
  dataDir: string,
  env: Record<string, string> = {},
  platformsEnv: Partial<Record<keyof typeof SECRETS, string>> = {},
  options: Omit<ChatServerOptions, 'clock'> = {},
): Promise<Harness> {
  const p = { ...SECRETS, ...platformsEnv };
  const config: PlatformsConfig & { chatInternalUrl: string } = {
    host: '127.0.0.1',
    port: 0,
    chatInternalUrl: 'http://127.0.0.1:9',
    messenger: { appSecret: p.MESSENGER_APP_SECRET, pageToken: p.MESSENGER_PAGE_TOKEN, pageId: p.MESSENGER_PAGE_ID },
    whatsapp: { appSecret: p.WHATSAPP_APP_SECRET, token: p.WHATSAPP_TOKEN, phoneNumberId: p.WHATSAPP_PHONE_NUMBER_ID },
    sms: { accountSid: p.TWILIO_ACCOUNT_SID, authToken: p.TWILIO_AUTH_TOKEN, fromNumber: p.TWILIO_FROM_NUMBER, webhookUrl: TWILIO_URL },
  };
  const platforms = await startPlatforms(config);
  const time: Clocked = { now: Date.UTC(2030, 0, 1, 9) };
  const chat = await startChat(
    dataDir,
    {
      ...SECRETS,
      MESSENGER_API_BASE: `${platforms.url}/v21.0`,
      WHATSAPP_API_BASE: `${platforms.url}/v21.0`,
      TWILIO_API_BASE: platforms.url,
      ...env,
    },
    { ...options, clock: () => time.now },
  );
  config.chatInternalUrl = chat.httpBase;
  return {
    chat,
    platforms,
    time,
    async close() {
      await chat.close();
      await platforms.close();
    },
  };
}

/** Rows of a table of the chat database (read with a separate handle). */
export function rows<T = Record<string, unknown>>(run: Running, sql: string, ...params: unknown[]): T[] {
  const db = new BetterSqlite3(join(run.config.dataDir, 'chat.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Waits for the inbox processor to finish what is stored. */
export async function settle(run: Running): Promise<void> {
  const channels = run.server.context.channels as unknown as { processInbox(): Promise<void>; processOutbox(): Promise<void> };
  await channels.processInbox();
  await channels.processOutbox();
}
