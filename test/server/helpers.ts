/**
 * Test fixtures for the chat server: a server on a temp DATA_DIR and port 0 that trusts the test
 * bank IdP (bank-idp.ts), REST calls through `app.inject`, customer sessions (signed in to the
 * bank the real way when a subject is named), and a WebSocket client (the `ws` package) that
 * records frames.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, test } from 'vitest';
import WebSocket from 'ws';
import { createChatServer, type ChatServer, type ChatServerOptions } from '../../server/app.ts';
import { loadChatConfig, type ChatConfig } from '../../server/config.ts';
import * as v from 'valibot';
import { ServerFrameSchema, type ServerFrame } from '../../protocol/chat.ts';
import { hashToken } from '../../server/lib/ids.ts';
import { testIdp } from './bank-idp.ts';

export const BANK = 'http://bank.localhost:8080';
export const CHAT = 'http://chat.localhost:8081';
export const VAULT = 'http://vault.localhost:8082';
export const EVIL = 'http://evil.localhost:9999';

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'chat-test-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Running {
  readonly server: ChatServer;
  readonly config: ChatConfig;
  readonly wsBase: string;
  readonly httpBase: string;
  close(): Promise<void>;
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): ChatConfig {
  return loadChatConfig({
    DATA_DIR: dataDir,
    BANK_ORIGIN: BANK,
    CHAT_ORIGIN: CHAT,
    VAULT_ORIGIN: VAULT,
    LOG_LEVEL: 'silent',
    AGENT_PASSWORD: 'correct horse',
    CHAT_VAULT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    ...env,
  });
}

export async function startChat(
  dataDir: string,
  env: Record<string, string> = {},
  options: ChatServerOptions = {},
  patch: Partial<ChatConfig> = {},
): Promise<Running> {
  const config = { ...testConfig(dataDir, { ...(await testIdp()).env, ...env }), ...patch };
  const server = await createChatServer(config, options);
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.app.server.address() as AddressInfo;
  return {
    server,
    config,
    wsBase: `ws://127.0.0.1:${port}`,
    httpBase: `http://127.0.0.1:${port}`,
    close: () => server.close(),
  };
}

type Json = Record<string, unknown>;

export interface InjectResult {
  status: number;
  body: Json;
  headers: Record<string, unknown>;
}

export async function call(
  run: Running,
  method: 'GET' | 'POST' | 'OPTIONS',
  url: string,
  options: { body?: unknown; token?: string; origin?: string | null; headers?: Record<string, string>; address?: string } = {},
): Promise<InjectResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.origin !== null) headers['origin'] = options.origin ?? BANK;
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await run.server.app.inject({
    method,
    url,
    headers,
    ...(options.address !== undefined ? { remoteAddress: options.address } : {}),
    ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
  });
  let body: Json = {};
  try {
    body = res.body ? (JSON.parse(res.body) as Json) : {};
  } catch {
    body = { raw: res.body };
  }
  return { status: res.statusCode, body, headers: res.headers };
}

let customers = 0;

/**
 * A client address of its own for each test customer, as real customers have: the per-address
 * limits (SESSIONS_PER_CLIENT, TICKETS_PER_CLIENT) then count one customer, never a whole file.
 */
function customerAddress(): string {
  const n = ++customers;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** A fresh session as the widget gets one: anonymous (acr `none`), no conversation yet. */
export async function newSession(run: Running, displayName = 'Ada'): Promise<{ token: string; conversationId: string | null; acr: string }> {
  const res = await call(run, 'POST', '/v1/sessions', { body: { displayName }, address: customerAddress() });
  if (res.status !== 201) throw new Error(`session: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body['session'] as string, conversationId: res.body['conversationId'] as string | null, acr: res.body['acr'] as string };
}

/**
 * Signs the session's customer in to the bank as `subject`, the way the widget does: a nonce
 * for the session, the test IdP's id_token carrying it (issued at the server's "now"), step-up.
 * Returns the step-up answer as is.
 */
export async function signIn(run: Running, token: string, subject: string, claims?: Readonly<Record<string, unknown>>): Promise<InjectResult> {
  const nonce = await call(run, 'POST', '/v1/sessions/nonce', { token });
  if (nonce.status !== 201) throw new Error(`nonce: ${nonce.status} ${JSON.stringify(nonce.body)}`);
  const idToken = await (await testIdp()).idToken(subject, nonce.body['nonce'] as string, run.server.context.clock(), claims);
  return call(run, 'POST', '/v1/sessions/step-up', { token, body: { assertion: { type: 'oidc', idToken } } });
}

/**
 * A customer session with a conversation: signed in to the bank as `subject` first if given (so
 * a known customer continues their latest conversation), then the conversation is started as
 * the customer's first message starts it (store `startForSession`) without writing one, so a
 * test's own events start at seq 1. Agents are not told of it until the customer writes.
 */
export async function customerSession(run: Running, subject?: string): Promise<{ token: string; conversationId: string; acr: string }> {
  const { token, acr } = await newSession(run);
  let level = acr;
  if (subject !== undefined) {
    const up = await signIn(run, token, subject);
    if (up.status !== 200) throw new Error(`step-up: ${up.status} ${JSON.stringify(up.body)}`);
    level = up.body['acr'] as string;
  }
  const { store } = run.server.context;
  const session = await store.sessions.findByTokenHash(hashToken(token));
  const started = session && (await store.conversations.startForSession(session.id));
  if (!started) throw new Error('customer session: no conversation');
  return { token, conversationId: started.conversation.id, acr: level };
}

export async function agentSession(run: Running): Promise<string> {
  const res = await call(run, 'POST', '/v1/agent/sessions', {
    origin: CHAT,
    body: { name: 'agent', password: 'correct horse' },
  });
  if (res.status !== 201) throw new Error(`agent login: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body['session'] as string;
}

export async function wsTicket(run: Running, token: string, origin = BANK): Promise<string> {
  const res = await call(run, 'POST', '/v1/ws-tickets', { token, origin, address: ticketAddress(token) });
  if (res.status !== 201) throw new Error(`ticket: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body['ticket'] as string;
}

/** The same address for every ticket of one session (see customerAddress). */
function ticketAddress(token: string): string {
  const h = createHash('sha256').update(token).digest();
  return `10.255.${h[0]}.${h[1]}`;
}

export async function createStep(run: Running, agentToken: string, conversationId: string): Promise<{ stepId: string; seq: number }> {
  const res = await call(run, 'POST', `/v1/agent/conversations/${conversationId}/steps`, {
    origin: CHAT,
    token: agentToken,
    body: { kind: 'card_payment', amount: { minor: 1250, currency: 'EUR' }, purpose: 'Card replacement fee', reference: 'INV-1' },
  });
  if (res.status !== 201) throw new Error(`step: ${res.status} ${JSON.stringify(res.body)}`);
  return { stepId: res.body['stepId'] as string, seq: res.body['seq'] as number };
}

/** Server frames that did not match protocol/chat.ts ServerFrameSchema (tests assert none). */
export const schemaViolations: unknown[] = [];

/** A WebSocket client that records every frame and lets a test wait for one. */
export class TestSocket {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const frame: unknown = JSON.parse(String(data));
      if (!v.is(ServerFrameSchema, frame)) schemaViolations.push(frame);
      this.frames.push(frame as ServerFrame);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: String(reason) });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits until `predicate` holds for some recorded frame; returns it. */
  async waitFor<T extends ServerFrame['type']>(
    type: T,
    predicate: (frame: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    // Only a guard against a hang: generous enough for a loaded machine.
    timeoutMs = 15_000,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find((f): f is Extract<ServerFrame, { type: T }> => f.type === type && predicate(f as Extract<ServerFrame, { type: T }>));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  ofType<T extends ServerFrame['type']>(type: T): Array<Extract<ServerFrame, { type: T }>> {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens /v1/ws; resolves with the socket once open, or rejects with the HTTP status. */
export function openSocket(run: Running, ticket: string | null, origin: string | null = BANK): Promise<TestSocket> {
  const url = ticket === null ? `${run.wsBase}/v1/ws` : `${run.wsBase}/v1/ws?ticket=${encodeURIComponent(ticket)}`;
  const ws = new WebSocket(url, origin === null ? {} : { origin });
  const socket = new TestSocket(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
    });
    ws.once('error', (err) => reject(err));
  });
}

export class UpgradeRefused extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`upgrade refused: ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Connects a customer socket and waits for hello. */
export async function customerSocket(run: Running, token: string): Promise<TestSocket> {
  const socket = await openSocket(run, await wsTicket(run, token));
  await socket.waitFor('hello');
  return socket;
}

export async function agentSocket(run: Running, agentToken: string): Promise<TestSocket> {
  const socket = await openSocket(run, await wsTicket(run, agentToken, CHAT), CHAT);
  await socket.waitFor('hello');
  return socket;
}

export function msgId(n: number | string): string {
  return `msg_${String(n).padStart(8, '0')}`;
}

/**
 * A fresh chat server on its own data directory for each test of the calling file, closed and
 * removed after it: `start` starts it (with the file's clock and variables), `use` hands it to
 * the file's own variables. A test that restarts the server on the same directory passes
 * `current`, so that the server it left running is closed too (closing is idempotent).
 * Kept for the files whose tests restart the server through the file's own `run` (http.test.ts,
 * ws/route.test.ts); other tests take `dir`, `run` and `agent` from the `chatTest` fixtures.
 */
export function chatPerTest(start: (dir: string) => Promise<Running>, use: (run: Running, dir: string) => void, current?: () => Running | undefined): void {
  let dir: string | undefined;
  let run: Running | undefined;
  beforeEach(async () => {
    dir = tempDir();
    run = await start(dir);
    use(run, dir);
  });
  afterEach(async () => {
    await run?.close();
    const latest = current?.();
    if (latest && latest !== run) await latest.close();
    if (dir) removeDir(dir);
    run = undefined;
    dir = undefined;
  });
}

/** How the `run` fixture starts its chat server: startChat's arguments after the directory. */
export interface ChatSetup {
  readonly env?: Record<string, string>;
  readonly options?: ChatServerOptions;
  readonly patch?: Partial<ChatConfig>;
}

/**
 * Vitest fixtures (`test.extend`) for the chat server, set up for each test that names them and
 * torn down after it, latest first:
 *
 * - `dir`: a fresh data directory, removed after the test;
 * - `chatSetup`: the variables and options the server starts with (none unless a file or describe
 *   overrides it: `const it = chatTest.override('chatSetup', () => ({ options: { clock: () => now } }))`;
 *   the function runs before each test, so it can also reset the file's clock);
 * - `run`: a chat server on `dir` with `chatSetup`, closed after the test;
 * - `agent`: the session token of the seeded agent on `run`.
 *
 * A test that restarts the server on the same directory closes the one it was given first.
 */
export const chatTest = test
  .extend('dir', async ({}, { onCleanup }) => {
    const dir = tempDir();
    onCleanup(() => removeDir(dir));
    return dir;
  })
  .extend('chatSetup', {} as ChatSetup)
  .extend('run', async ({ dir, chatSetup }, { onCleanup }) => {
    const run = await startChat(dir, chatSetup.env, chatSetup.options, chatSetup.patch);
    onCleanup(() => run.close());
    return run;
  })
  .extend('agent', async ({ run }) => agentSession(run));
