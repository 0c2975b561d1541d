import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect } from 'vitest';
import { PIVOT_LINK_CODE_BYTES, PIVOT_LINK_TTL_S } from '../../../protocol/chat.ts';
import { PivotError } from '../../../protocol/errors.ts';
import type { ChannelGateway, ChannelIdentity, OutboundLink } from '../../../server/channels/gateway.ts';
import { PIVOT_LINK_REDEEMED_TEXT, PIVOT_LINK_TEXT, PIVOT_LINK_TITLE, pivotLinkSentText } from '../../../server/channels/pivot-link-codes.ts';
import { hashToken } from '../../../server/lib/ids.ts';
import { BANK, CHAT, EVIL, call, chatTest, customerSession, customerSocket } from '../helpers.ts';

/** Our own gateway interface, recording what the server asked it to send. */
class RecordingGateway implements ChannelGateway {
  readonly identities = new Map<string, ChannelIdentity>();
  readonly sent: Array<{ conversationId: string; link: OutboundLink }> = [];
  readonly attempted: OutboundLink[] = [];
  failWith: PivotError | Error | null = null;

  async identityFor(conversationId: string): Promise<ChannelIdentity | null> {
    return this.identities.get(conversationId) ?? null;
  }

  async sendLink(conversationId: string, link: OutboundLink): Promise<void> {
    if (!this.identities.has(conversationId)) throw new PivotError('CHANNEL_NOT_AVAILABLE');
    this.attempted.push(link);
    if (this.failWith) throw this.failWith;
    this.sent.push({ conversationId, link });
  }

  async sendPrivateText(): Promise<void> {}
  async sendSms(): Promise<void> {}
}

let now: number;
let gateway: RecordingGateway;
let logs: string;

/**
 * A server on a clock at `now` that sends through `gateway` and logs to `logs` (all three reset
 * before each test), with the helpers of its conversations and links.
 */
const it = chatTest
  .extend('links', ({ run, agent }) => {
    /** A conversation that started on Messenger, as the channel adapters create it. */
    const messengerConversation = async (): Promise<{ conversationId: string; customerId: string }> => {
      const { store } = run.server.context;
      const customer = await store.customers.create({ subject: null, displayName: 'Robert (Messenger)' });
      const conversation = await store.conversations.create(customer.id, 'none', 'messenger');
      await store.events.append(conversation.id, { kind: 'message', author: { role: 'customer', name: 'Robert' }, clientMsgId: null, via: 'messenger', text: 'My card was swallowed' });
      gateway.identities.set(conversation.id, { id: `chi_${conversation.id.slice(4)}`, channel: 'messenger', customerId: customer.id });
      return { conversationId: conversation.id, customerId: customer.id };
    };
    const sendLink = (conversationId: string) => call(run, 'POST', `/v1/agent/conversations/${conversationId}/pivot-links`, { origin: CHAT, token: agent });
    /** Sends a link and returns the code the customer received (from the fragment only). */
    const codeFor = async (conversationId: string): Promise<string> => {
      const res = await sendLink(conversationId);
      expect(res.status).toBe(201);
      const url = new URL(gateway.sent.at(-1)!.link.url);
      return new URLSearchParams(url.hash.slice(1)).get('pivot')!;
    };
    const redeem = (code: unknown, origin: string | null = BANK) => call(run, 'POST', '/v1/pivot-links/redeem', { body: { code }, origin });
    return { messengerConversation, sendLink, codeFor, redeem };
  })
  .override('chatSetup', () => {
    now = Date.UTC(2030, 0, 1);
    gateway = new RecordingGateway();
    logs = '';
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString();
        done();
      },
    });
    return { env: { LOG_LEVEL: 'debug', PIVOT_LINK_BASE_URL: `${BANK}/help?topic=card` }, options: { clock: () => now, channels: gateway, logStream } };
  });

describe('creating a pivot link', () => {
  it('sends the link on the channel with the code only in the fragment, and tells the agent without the code', async ({ run, agent, links: { messengerConversation, sendLink } }) => {
    const { conversationId } = await messengerConversation();
    const res = await sendLink(conversationId);
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ channel: 'messenger', expiresAt: new Date(now + PIVOT_LINK_TTL_S * 1000).toISOString(), seq: 2 });
    expect(gateway.sent).toHaveLength(1);
    const { link } = gateway.sent[0]!;
    expect(link.title).toBe(PIVOT_LINK_TITLE);
    expect(link.text).toBe(PIVOT_LINK_TEXT);
    const url = new URL(link.url);
    expect(`${url.origin}${url.pathname}${url.search}`).toBe(`${BANK}/help?topic=card`);
    const code = new URLSearchParams(url.hash.slice(1)).get('pivot')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(code, 'base64url')).toHaveLength(PIVOT_LINK_CODE_BYTES);
    expect(JSON.stringify(res.body)).not.toContain(code);
    const events = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events`, { origin: CHAT, token: agent });
    expect(events.body['events']).toContainEqual(expect.objectContaining({ kind: 'system', seq: 2, text: pivotLinkSentText('messenger') }));
    expect(pivotLinkSentText('messenger')).toBe('Secure link sent on Messenger (valid 15 minutes)');
    expect(JSON.stringify(events.body)).not.toContain(code);
  });

  it('needs an agent session, a known conversation and a public channel', async ({ run, links: { messengerConversation, sendLink } }) => {
    const { conversationId } = await messengerConversation();
    const customer = await customerSession(run);
    expect((await call(run, 'POST', `/v1/agent/conversations/${conversationId}/pivot-links`, { origin: CHAT })).body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await call(run, 'POST', `/v1/agent/conversations/${conversationId}/pivot-links`, { origin: CHAT, token: customer.token })).body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await sendLink('cnv_doesnotexist00')).body).toMatchObject({ error: { code: 'CONVERSATION_NOT_FOUND' } });
    const web = await sendLink(customer.conversationId);
    expect(web.status).toBe(409);
    expect(web.body).toMatchObject({ error: { code: 'CHANNEL_NOT_AVAILABLE' } });
    expect(gateway.sent).toHaveLength(0);
  });

  it('stores only the SHA-256 hash of the code, and never logs the code', async ({ run, dir, links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    const code = await codeFor(conversationId);
    expect((await redeem(code)).status).toBe(201);
    await run.close();
    const db = new Database(join(dir, 'chat.db'), { readonly: true });
    try {
      const rows = db.prepare('select * from pivot_links').all() as Array<Record<string, unknown>>;
      expect(rows).toHaveLength(1);
      expect(rows[0]!['code_hash']).toBe(hashToken(code));
      const tables = db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>;
      for (const { name } of tables) {
        const dump = JSON.stringify(db.prepare(`select * from "${name}"`).all());
        expect(dump, name).not.toContain(code);
      }
    } finally {
      db.close();
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(code);
  });

  it('invalidates the link when the channel refuses it, and answers the channel error', async ({ run, agent, links: { messengerConversation, sendLink, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    gateway.failWith = new PivotError('CHANNEL_WINDOW_CLOSED');
    const res = await sendLink(conversationId);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: { code: 'CHANNEL_WINDOW_CLOSED' } });
    gateway.failWith = new Error('socket hang up');
    expect((await sendLink(conversationId)).body).toMatchObject({ error: { code: 'CHANNEL_SEND_FAILED' } });
    expect(gateway.attempted).toHaveLength(2);
    for (const attempt of gateway.attempted) {
      const undelivered = new URLSearchParams(new URL(attempt.url).hash.slice(1)).get('pivot')!;
      expect(await run.server.context.store.pivotLinks.find(hashToken(undelivered))).toBeUndefined();
      expect((await redeem(undelivered)).body).toMatchObject({ error: { code: 'PIVOT_LINK_INVALID' } });
    }
    const events = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events`, { origin: CHAT, token: agent });
    expect((events.body['events'] as unknown[]).filter((e) => (e as { kind: string }).kind === 'system')).toEqual([]);
    gateway.failWith = null;
    const code = await codeFor(conversationId);
    expect((await redeem(code)).status).toBe(201);
  });

  it('revokes the older unused links of the conversation when a new one is issued', async ({ links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    const first = await codeFor(conversationId);
    const second = await codeFor(conversationId);
    expect(first).not.toBe(second);
    expect((await redeem(first)).body).toMatchObject({ error: { code: 'PIVOT_LINK_INVALID' } });
    expect((await redeem(second)).status).toBe(201);
  });
});

describe('redeeming a pivot link', () => {
  it('opens a channel-level session for that conversation only, with its whole history', async ({ run, links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId, customerId } = await messengerConversation();
    const other = await messengerConversation();
    const code = await codeFor(conversationId);
    const res = await redeem(code);
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ conversationId, acr: 'channel' });
    const session = await run.server.context.store.sessions.findByTokenHash(hashToken(res.body['session'] as string));
    expect(session).toMatchObject({ role: 'customer', acr: 'channel', conversationId, customerId });
    expect((await run.server.context.store.conversations.get(conversationId))?.acr).toBe('channel');
    expect((await run.server.context.store.conversations.get(other.conversationId))?.acr).toBe('none');
    const events = await run.server.context.store.events.list(conversationId, 0, 100);
    expect(events.map((e) => (e.kind === 'message' || e.kind === 'system' ? e.text : e.kind))).toEqual([
      'My card was swallowed',
      pivotLinkSentText('messenger'),
      PIVOT_LINK_REDEEMED_TEXT,
    ]);
    // Over the socket the session is bound to its conversation and cannot read another one.
    const socket = await customerSocket(run, res.body['session'] as string);
    try {
      expect((await socket.waitFor('hello')).conversationId).toBe(conversationId);
      socket.send({ type: 'resume', after: 0, conversationId: other.conversationId });
      expect((await socket.waitFor('error')).code).toBe('FORBIDDEN');
      expect(socket.ofType('event').every((f) => f.event.conversationId === conversationId)).toBe(true);
    } finally {
      socket.close();
    }
  });

  it('is single use: the second redeem reads PIVOT_LINK_USED', async ({ links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    const code = await codeFor(conversationId);
    expect((await redeem(code)).status).toBe(201);
    const again = await redeem(code);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'PIVOT_LINK_USED' } });
  });

  it('gives exactly one session to concurrent redeems of one code', async ({ run, dir, links: { messengerConversation, codeFor } }) => {
    const { conversationId } = await messengerConversation();
    const code = await codeFor(conversationId);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${run.httpBase}/v1/pivot-links/redeem`, {
          method: 'POST',
          headers: { origin: BANK, 'content-type': 'application/json' },
          body: JSON.stringify({ code }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).map((r) => r.body)).toHaveLength(7);
    const db = new Database(join(dir, 'chat.db'), { readonly: true });
    try {
      expect(db.prepare("select count(*) as n from sessions where conversation_id = ? and acr = 'channel'").get(conversationId)).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it(`expires PIVOT_LINK_TTL_S (${PIVOT_LINK_TTL_S} s) after it was issued`, async ({ links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    const early = await codeFor(conversationId);
    now += PIVOT_LINK_TTL_S * 1000 - 1;
    expect((await redeem(early)).status).toBe(201);

    const late = await codeFor(conversationId);
    now += PIVOT_LINK_TTL_S * 1000;
    const res = await redeem(late);
    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ error: { code: 'PIVOT_LINK_EXPIRED' } });
  });

  it('refuses unknown, malformed and tampered codes with PIVOT_LINK_INVALID', async ({ links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    const code = await codeFor(conversationId);
    const tampered = code.slice(0, 10) + (code[10] === 'A' ? 'B' : 'A') + code.slice(11);
    for (const bad of [tampered, 'A'.repeat(43), code.slice(0, 42), `${code}A`, code.replace(/.$/, '='), '../../etc', '']) {
      const res = await redeem(bad);
      expect(res.status, bad).toBe(400);
      expect(res.body, bad).toMatchObject({ error: { code: 'PIVOT_LINK_INVALID' } });
    }
    expect((await redeem(42)).body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((await redeem('x'.repeat(129))).body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    // The genuine code still works after all that.
    expect((await redeem(code)).status).toBe(201);
  });

  it('accepts redeems only from an allowed bank origin', async ({ links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    const code = await codeFor(conversationId);
    expect((await redeem(code, EVIL)).body).toMatchObject({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
    expect((await redeem(code, null)).body).toMatchObject({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
    expect((await redeem(code, CHAT)).body).toMatchObject({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
    expect((await redeem(code)).status).toBe(201);
  });

  it('is consumed by nothing a GET can reach (a link-preview crawler)', async ({ run, links: { messengerConversation, codeFor, redeem } }) => {
    const { conversationId } = await messengerConversation();
    const code = await codeFor(conversationId);
    const link = gateway.sent.at(-1)!.link.url;
    // What a crawler can request: the URL without its fragment, and guesses at API paths.
    for (const path of [
      new URL(link).pathname + new URL(link).search,
      `/v1/pivot-links/redeem?code=${code}`,
      `/v1/pivot-links/${code}`,
      `/?pivot=${code}`,
    ]) {
      const res = await call(run, 'GET', path, { origin: null });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
    }
    expect((await redeem(code)).status).toBe(201);
  });
});
