/**
 * Local doubles of the public platforms (Meta Graph API for Messenger and the WhatsApp Cloud API,
 * Twilio Programmable Messaging), in one node:http server, plus the messenger simulator page.
 *
 * As the platforms' SEND APIs it checks credentials and body shapes and answers their documented
 * success or error bodies, recording every request:
 *
 *   POST /vNN.N/me/messages?access_token=…                   Messenger Send API
 *   POST /vNN.N/{phone-number-id}/messages  (Bearer token)    WhatsApp Cloud API
 *   POST /2010-04-01/Accounts/{sid}/Messages.json (Basic)      Twilio Create Message
 *
 * As the platforms' WEBHOOK senders it builds their webhook bodies, signs them as they do
 * (Meta: `X-Hub-Signature-256` HMAC-SHA256 of the body with the app secret; Twilio:
 * `X-Twilio-Signature` over the public webhook URL + sorted parameters) and posts them to the
 * chat server's internal URL:
 *
 *   POST /sim/deliver   {platform, user, text, name?} -> {status, messageId}
 *   GET  /sim/messages?platform=&user=&after=N          the thread (customer + business messages)
 *   GET  /sim/outbound                                   every recorded send request (tests)
 *   GET  /  /sim.js  /sim.css                            the simulator page (strict CSP)
 *
 * Run: `tsx demo/platforms/server.ts` (PLATFORMS_PORT, default 8083); in tests:
 * `startPlatforms({ port: 0, ... })`. Secrets come from the same variables as the chat server's.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import * as v from 'valibot';
import { MessengerSendSchema, TwilioSendSchema, WhatsAppSendSchema } from '../../protocol/platforms.ts';

export const PLATFORMS_DEFAULT_PORT = 8083;
/** Largest request body the doubles read, in bytes. */
export const PLATFORMS_MAX_BODY_BYTES = 64 * 1024;
/** The demo customer on every platform. */
export const DEMO_USER = { name: 'Robert', psid: '6024151234567890', waId: '447700900123', phone: '+447700900123' } as const;
/** Page id the Messenger double puts in webhooks (entry id, recipient.id) when MESSENGER_PAGE_ID is unset. */
export const DEMO_PAGE_ID = '100200300400500';

export type Platform = 'messenger' | 'whatsapp' | 'sms';
type Env = Readonly<Record<string, string | undefined>>;

export interface PlatformsConfig {
  readonly host: string;
  readonly port: number;
  /** Where webhooks are posted (the chat server's internal base URL). */
  readonly chatInternalUrl: string;
  /** `pageId`: the page the webhooks are for (the chat server's MESSENGER_PAGE_ID). */
  readonly messenger: { appSecret: string; pageToken: string; pageId: string } | null;
  readonly whatsapp: { appSecret: string; token: string; phoneNumberId: string } | null;
  readonly sms: { accountSid: string; authToken: string; fromNumber: string; webhookUrl: string } | null;
}

/** One send request as the double received it. */
export interface RecordedSend {
  readonly id: number;
  readonly platform: Platform;
  readonly path: string;
  /** Parsed body (JSON, or the form fields for Twilio). */
  readonly body: unknown;
  readonly status: number;
}

/** One bubble of a simulator thread. */
export interface ThreadMessage {
  readonly id: number;
  readonly platform: Platform;
  readonly user: string;
  readonly from: 'customer' | 'business';
  readonly text: string;
  readonly link?: { readonly url: string; readonly title: string };
}

export interface PlatformsServer {
  readonly url: string;
  readonly port: number;
  readonly sent: readonly RecordedSend[];
  readonly thread: readonly ThreadMessage[];
  /** Builds, signs and posts one inbound webhook; resolves with the chat server's status. */
  deliver(platform: Platform, user: string, text: string, name?: string): Promise<{ status: number; messageId: string }>;
  close(): Promise<void>;
}

export function loadPlatformsConfig(env: Env = process.env): PlatformsConfig {
  const get = (n: string) => (env[n]?.trim() ? env[n]!.trim() : undefined);
  const chatPort = get('CHAT_PORT') ?? '8081';
  const chatOrigin = get('CHAT_ORIGIN') ?? `http://chat.localhost:${chatPort}`;
  const all = <K extends string>(names: readonly K[]): Record<K, string> | null =>
    names.every((n) => get(n) !== undefined) ? (Object.fromEntries(names.map((n) => [n, get(n)!])) as Record<K, string>) : null;
  const m = all(['MESSENGER_APP_SECRET', 'MESSENGER_PAGE_TOKEN']);
  const w = all(['WHATSAPP_APP_SECRET', 'WHATSAPP_TOKEN', 'WHATSAPP_PHONE_NUMBER_ID']);
  const t = all(['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM_NUMBER']);
  return {
    host: get('HOST') ?? '127.0.0.1',
    port: Number(get('PLATFORMS_PORT') ?? PLATFORMS_DEFAULT_PORT),
    chatInternalUrl: (get('CHAT_INTERNAL_URL') ?? `http://127.0.0.1:${chatPort}`).replace(/\/+$/, ''),
    messenger: m && { appSecret: m.MESSENGER_APP_SECRET, pageToken: m.MESSENGER_PAGE_TOKEN, pageId: get('MESSENGER_PAGE_ID') ?? DEMO_PAGE_ID },
    whatsapp: w && { appSecret: w.WHATSAPP_APP_SECRET, token: w.WHATSAPP_TOKEN, phoneNumberId: w.WHATSAPP_PHONE_NUMBER_ID },
    sms: t && {
      accountSid: t.TWILIO_ACCOUNT_SID,
      authToken: t.TWILIO_AUTH_TOKEN,
      fromNumber: t.TWILIO_FROM_NUMBER,
      webhookUrl: get('TWILIO_WEBHOOK_URL') ?? `${chatOrigin}/webhooks/twilio/sms`,
    },
  };
}

const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/sim.js': { file: 'sim.js', type: 'text/javascript; charset=utf-8' },
  '/sim.css': { file: 'sim.css', type: 'text/css; charset=utf-8' },
};
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Meta's signature header value for `body`. */
export function metaSignatureOf(appSecret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** Twilio's signature of a form POST to `url` (parameters sorted by name, each name then value). */
export function twilioSignatureOf(authToken: string, url: string, params: Readonly<Record<string, string>>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac('sha1', authToken).update(data).digest('base64');
}

/**
 * Meta's JSON escaping: non-ASCII as `\uXXXX` and `/` as `\/` (what its webhooks carry, and why
 * signatures must be checked over the raw bytes).
 */
export function metaJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export async function startPlatforms(config: PlatformsConfig = loadPlatformsConfig()): Promise<PlatformsServer> {
  const sent: RecordedSend[] = [];
  const thread: ThreadMessage[] = [];
  let nextId = 1;
  const pushThread = (m: Omit<ThreadMessage, 'id'>) => thread.push({ id: nextId++, ...m });
  const staticDir = new URL('./simulator/', import.meta.url);

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const graphError = (res: ServerResponse, status: number, code: number, message: string) =>
    json(res, status, { error: { message, type: 'OAuthException', code, fbtrace_id: randomBytes(8).toString('base64url') } });

  const record = (platform: Platform, path: string, body: unknown, status: number) =>
    sent.push({ id: sent.length + 1, platform, path, body, status });

  async function readBody(req: IncomingMessage): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > PLATFORMS_MAX_BODY_BYTES) return null;
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  }

  function parseJson(raw: Buffer): unknown {
    try {
      return JSON.parse(raw.toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  function messengerSend(res: ServerResponse, url: URL, raw: Buffer): void {
    const body = parseJson(raw);
    const cfg = config.messenger;
    if (!cfg || !same(url.searchParams.get('access_token') ?? '', cfg.pageToken)) {
      record('messenger', url.pathname, body, 401);
      return graphError(res, 401, 190, 'Invalid OAuth access token - Cannot parse access token');
    }
    const parsed = v.safeParse(MessengerSendSchema, body);
    if (!parsed.success) {
      record('messenger', url.pathname, body, 400);
      return graphError(res, 400, 100, '(#100) Invalid parameter');
    }
    record('messenger', url.pathname, body, 200);
    const message = parsed.output.message;
    const to = parsed.output.recipient.id;
    if ('text' in message) pushThread({ platform: 'messenger', user: to, from: 'business', text: message.text });
    else {
      const p = message.attachment.payload;
      pushThread({ platform: 'messenger', user: to, from: 'business', text: p.text, link: { url: p.buttons[0]!.url, title: p.buttons[0]!.title } });
    }
    json(res, 200, { recipient_id: to, message_id: `m_${randomBytes(16).toString('base64url')}` });
  }

  function whatsappSend(res: ServerResponse, url: URL, phoneNumberId: string, req: IncomingMessage, raw: Buffer): void {
    const body = parseJson(raw);
    const cfg = config.whatsapp;
    if (!cfg || !same(req.headers.authorization ?? '', `Bearer ${cfg.token}`)) {
      record('whatsapp', url.pathname, body, 401);
      return graphError(res, 401, 190, 'Invalid OAuth access token - Cannot parse access token');
    }
    const parsed = v.safeParse(WhatsAppSendSchema, body);
    if (phoneNumberId !== cfg.phoneNumberId || !parsed.success) {
      record('whatsapp', url.pathname, body, 400);
      return graphError(res, 400, 100, '(#100) Invalid parameter');
    }
    record('whatsapp', url.pathname, body, 200);
    const m = parsed.output;
    if (m.type === 'text') pushThread({ platform: 'whatsapp', user: m.to, from: 'business', text: m.text.body });
    else if (m.type === 'interactive') {
      const { parameters } = m.interactive.action;
      pushThread({ platform: 'whatsapp', user: m.to, from: 'business', text: m.interactive.body.text, link: { url: parameters.url, title: parameters.display_text } });
    } else {
      const linkUrl = m.template.components[0]?.parameters[0]?.text ?? '';
      pushThread({ platform: 'whatsapp', user: m.to, from: 'business', text: `[template ${m.template.name}]`, link: { url: linkUrl, title: 'Open' } });
    }
    json(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: m.to, wa_id: m.to }], messages: [{ id: `wamid.${randomBytes(24).toString('base64url')}` }] });
  }

  function twilioSend(res: ServerResponse, url: URL, sid: string, req: IncomingMessage, raw: Buffer): void {
    const form = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    const cfg = config.sms;
    const expected = cfg ? `Basic ${Buffer.from(`${cfg.accountSid}:${cfg.authToken}`).toString('base64')}` : '';
    if (!cfg || sid !== cfg.accountSid || !same(req.headers.authorization ?? '', expected)) {
      record('sms', url.pathname, form, 401);
      return json(res, 401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    }
    const parsed = v.safeParse(TwilioSendSchema, form);
    if (!parsed.success || parsed.output.From !== cfg.fromNumber) {
      record('sms', url.pathname, form, 400);
      return json(res, 400, { code: 21604, message: "A 'To' phone number is required.", more_info: 'https://www.twilio.com/docs/errors/21604', status: 400 });
    }
    record('sms', url.pathname, form, 201);
    const urlMatch = /(https?:\/\/\S+)$/.exec(parsed.output.Body);
    pushThread({
      platform: 'sms',
      user: parsed.output.To,
      from: 'business',
      text: urlMatch ? parsed.output.Body.slice(0, urlMatch.index).trim() : parsed.output.Body,
      ...(urlMatch ? { link: { url: urlMatch[1]!, title: urlMatch[1]! } } : {}),
    });
    const now = new Date().toUTCString();
    json(res, 201, {
      sid: `SM${randomBytes(16).toString('hex')}`,
      account_sid: cfg.accountSid,
      to: parsed.output.To,
      from: parsed.output.From,
      body: parsed.output.Body,
      status: 'queued',
      num_segments: '1',
      direction: 'outbound-api',
      date_created: now,
      date_updated: now,
      api_version: '2010-04-01',
      uri: `/2010-04-01/Accounts/${cfg.accountSid}/Messages.json`,
    });
  }

  async function deliver(platform: Platform, user: string, text: string, name: string = DEMO_USER.name): Promise<{ status: number; messageId: string }> {
    const ts = Date.now();
    let path: string;
    let body: string;
    let headers: Record<string, string>;
    let messageId: string;
    if (platform === 'messenger') {
      const cfg = config.messenger;
      if (!cfg) throw new Error('Messenger is not configured');
      messageId = `m_${randomBytes(24).toString('base64url')}`;
      body = metaJson({
        object: 'page',
        entry: [{ id: cfg.pageId, time: ts, messaging: [{ sender: { id: user }, recipient: { id: cfg.pageId }, timestamp: ts, message: { mid: messageId, text } }] }],
      });
      path = '/webhooks/messenger';
      headers = { 'content-type': 'application/json', 'x-hub-signature-256': metaSignatureOf(cfg.appSecret, body) };
    } else if (platform === 'whatsapp') {
      const cfg = config.whatsapp;
      if (!cfg) throw new Error('WhatsApp is not configured');
      messageId = `wamid.${randomBytes(24).toString('base64url')}`;
      body = metaJson({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: '900100200300400',
            changes: [
              {
                field: 'messages',
                value: {
                  messaging_product: 'whatsapp',
                  metadata: { display_phone_number: '15550001111', phone_number_id: cfg.phoneNumberId },
                  contacts: [{ profile: { name }, wa_id: user }],
                  messages: [{ from: user, id: messageId, timestamp: String(Math.floor(ts / 1000)), type: 'text', text: { body: text } }],
                },
              },
            ],
          },
        ],
      });
      path = '/webhooks/whatsapp';
      headers = { 'content-type': 'application/json', 'x-hub-signature-256': metaSignatureOf(cfg.appSecret, body) };
    } else {
      const cfg = config.sms;
      if (!cfg) throw new Error('Twilio is not configured');
      messageId = `SM${randomBytes(16).toString('hex')}`;
      const params: Record<string, string> = {
        ToCountry: 'GB', ToState: '', SmsMessageSid: messageId, NumMedia: '0', ToCity: '', FromZip: '', SmsSid: messageId,
        FromState: '', SmsStatus: 'received', FromCity: '', Body: text, FromCountry: 'GB', To: cfg.fromNumber, ToZip: '',
        NumSegments: '1', MessageSid: messageId, AccountSid: cfg.accountSid, From: user, ApiVersion: '2010-04-01',
      };
      body = new URLSearchParams(params).toString();
      path = '/webhooks/twilio/sms';
      headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignatureOf(cfg.authToken, cfg.webhookUrl, params) };
    }
    pushThread({ platform, user, from: 'customer', text });
    const res = await fetch(`${config.chatInternalUrl}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return { status: res.status, messageId };
  }

  const DeliverSchema = v.strictObject({
    platform: v.picklist(['messenger', 'whatsapp', 'sms']),
    user: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
    text: v.pipe(v.string(), v.minLength(1), v.maxLength(4000)),
    name: v.optional(v.pipe(v.string(), v.maxLength(80))),
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://platforms.invalid');
    const path = url.pathname;
    if (req.method === 'GET') {
      const file = STATIC[path];
      if (file) {
        res.writeHead(200, { 'content-type': file.type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
        res.end(readFileSync(new URL(file.file, staticDir)));
        return;
      }
      if (path === '/sim/messages') {
        const after = Number(url.searchParams.get('after') ?? '0') || 0;
        const platform = url.searchParams.get('platform');
        const user = url.searchParams.get('user');
        return json(res, 200, { messages: thread.filter((m) => m.id > after && m.platform === platform && m.user === user) });
      }
      if (path === '/sim/outbound') return json(res, 200, { sent });
      if (path === '/sim/config') {
        return json(res, 200, {
          platforms: { messenger: config.messenger !== null, whatsapp: config.whatsapp !== null, sms: config.sms !== null },
          users: { messenger: DEMO_USER.psid, whatsapp: DEMO_USER.waId, sms: DEMO_USER.phone },
          name: DEMO_USER.name,
        });
      }
      return json(res, 404, { error: { code: 'NOT_FOUND', message: 'No such resource.' } });
    }
    if (req.method !== 'POST') return json(res, 405, { error: { code: 'NOT_FOUND', message: 'Method not allowed.' } });
    const raw = await readBody(req);
    if (raw === null) return json(res, 413, { error: { code: 'BODY_TOO_LARGE', message: 'The request body is larger than allowed.' } });

    let m: RegExpExecArray | null;
    if (/^\/v\d+\.\d+\/me\/messages$/.test(path)) return messengerSend(res, url, raw);
    if ((m = /^\/v\d+\.\d+\/([A-Za-z0-9_-]+)\/messages$/.exec(path))) return whatsappSend(res, url, m[1]!, req, raw);
    if ((m = /^\/2010-04-01\/Accounts\/([A-Za-z0-9]+)\/Messages\.json$/.exec(path))) return twilioSend(res, url, m[1]!, req, raw);
    if (path === '/sim/deliver') {
      // The page's own script only: JSON (a cross-site form cannot send it without a preflight).
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return json(res, 415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'JSON only.' } });
      const parsed = v.safeParse(DeliverSchema, parseJson(raw));
      if (!parsed.success) return json(res, 400, { error: { code: 'BAD_REQUEST', message: 'The request does not match the schema.' } });
      try {
        const out = await deliver(parsed.output.platform, parsed.output.user, parsed.output.text, parsed.output.name);
        return json(res, 200, out);
      } catch {
        return json(res, 502, { error: { code: 'UPSTREAM_UNAVAILABLE', message: 'The chat server did not accept the webhook.' } });
      }
    }
    return json(res, 404, { error: { code: 'NOT_FOUND', message: 'No such resource.' } });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' } });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${config.host}:${port}`,
    port,
    sent,
    thread,
    deliver,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const running = await startPlatforms();
  console.log(JSON.stringify({ msg: 'platform doubles ready', url: running.url }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void running.close().then(() => process.exit(0)));
}
