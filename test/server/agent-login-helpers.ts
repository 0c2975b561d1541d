/**
 * Fixtures for agent sign-in and sign-out: a chat server on a fake clock with its log lines
 * captured, and sign-in / sign-out calls from any client address (`app.inject` sets the
 * connection's address, which is what the guard counts).
 */
import { afterEach, beforeEach } from 'vitest';
import { CHAT, removeDir, startChat, tempDir, type Running } from './helpers.ts';

/** The password startChat seeds `agent` with (test/server/helpers.ts). */
export const AGENT_PASSWORD = 'correct horse';
export const T0 = Date.UTC(2030, 0, 1, 9);

export interface Clocked {
  readonly run: Running;
  readonly time: { now: number };
  /** Every log line, parsed. */
  readonly lines: Array<Record<string, unknown>>;
  /** The raw text of every log line (to assert what never appears). */
  readonly raw: string[];
}

export async function startClocked(dir: string, time = { now: T0 }, env: Record<string, string> = {}): Promise<Clocked> {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const run = await startChat(
    dir,
    { LOG_LEVEL: 'info', ...env },
    {
      clock: () => time.now,
      logStream: {
        write: (line) => {
          raw.push(line);
          lines.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    },
  );
  return { run, time, lines, raw };
}

export interface SignInAnswer {
  readonly status: number;
  readonly code: string | undefined;
  readonly body: Record<string, unknown>;
  /** Retry-After in seconds, if sent. */
  readonly retryAfter: number | undefined;
  readonly token: string | undefined;
}

export async function signIn(run: Running, name: string, password: string, client = '198.51.100.1'): Promise<SignInAnswer> {
  const res = await run.server.app.inject({
    method: 'POST',
    url: '/v1/agent/sessions',
    headers: { origin: CHAT, 'content-type': 'application/json' },
    payload: JSON.stringify({ name, password }),
    remoteAddress: client,
  });
  const body = JSON.parse(res.body) as Record<string, unknown>;
  const header = res.headers['retry-after'];
  return {
    status: res.statusCode,
    code: (body['error'] as { code?: string } | undefined)?.code,
    body,
    retryAfter: header === undefined ? undefined : Number(header),
    token: typeof body['session'] === 'string' ? body['session'] : undefined,
  };
}

export async function signOut(run: Running, token: string): Promise<{ status: number; code: string | undefined }> {
  const res = await run.server.app.inject({
    method: 'DELETE',
    url: '/v1/agent/sessions/current',
    headers: { origin: CHAT, authorization: `Bearer ${token}` },
  });
  return { status: res.statusCode, code: res.body ? (JSON.parse(res.body) as { error?: { code?: string } }).error?.code : undefined };
}

/** The log lines of refused sign-ins. */
export function refusals(lines: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return lines.filter((l) => l['msg'] === 'agent sign-in refused');
}

/**
 * A fresh data directory and clocked chat server for each test of the calling file, closed and
 * removed after it: `const t = clockedChatPerTest()`, then `t.c` and `t.dir` inside the tests
 * (a test may replace `t.c`, e.g. to restart the server on the same directory).
 */
export function clockedChatPerTest(): { dir: string; c: Clocked } {
  const holder = {} as { dir: string; c: Clocked };
  beforeEach(async () => {
    holder.dir = tempDir();
    holder.c = await startClocked(holder.dir, { now: T0 });
  });
  afterEach(async () => {
    await holder.c.run.close();
    removeDir(holder.dir);
  });
  return holder;
}
