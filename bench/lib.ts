/**
 * Small helpers shared by the benchmarks: free ports, child services, statistics, formatting.
 * Nothing here imports project code: the services under test are separate processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => {
      socket.destroy();
      ok(false);
    });
    socket.once('connect', () => {
      socket.end();
      ok(true);
    });
    socket.once('error', () => ok(false));
  });
}

/** `preferred` if nothing listens there, else a free port. */
export async function portOrFree(preferred: number): Promise<number> {
  return (await portOpen(preferred)) ? freePort() : preferred;
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `spc-bench-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A minimal environment for a child service (no DATABASE_URL etc. leaking from the caller). */
export function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[name]) env[name] = process.env[name];
  return { ...env, ...extra };
}

export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  /** Last lines the process wrote (stdout + stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start `node --import tsx <entry>` with `env`, and wait until `port` accepts connections (or
 * `readyLine` appears in the output, when given). Throws with the process output on failure.
 */
export async function startService(options: {
  name: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  port?: number;
  readyLine?: string;
  timeoutMs?: number;
}): Promise<Service> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every service under test into <dir>.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(ROOT, options.entry)], {
    cwd: ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  const exitPromise = new Promise<void>((ok) =>
    child.once('exit', (code, signal) => {
      exited = String(signal ?? code);
      ok();
    }),
  );
  const service: Service = {
    name: options.name,
    child,
    output: () => tail,
    async stop() {
      if (exited !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (exited !== null) throw new Error(`${options.name} (${options.entry}) exited (${exited}) before it was ready:\n${tail.trim()}`);
    if (options.readyLine ? tail.includes(options.readyLine) : options.port !== undefined && (await portOpen(options.port))) break;
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`${options.name} (${options.entry}) not ready after ${options.timeoutMs ?? 60_000} ms:\n${tail.trim()}`);
    }
    await sleep(100);
  }
  return service;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Wall clock in epoch milliseconds with sub-millisecond resolution (comparable with a page's timeOrigin + now()). */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Nearest-rank percentile of `values` (need not be sorted); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  return {
    n,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: n ? Math.max(...values) : Number.NaN,
    min: n ? Math.min(...values) : Number.NaN,
    mean: n ? values.reduce((a, b) => a + b, 0) / n : Number.NaN,
  };
}

export function ms(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)} ms` : 'n/a';
}

/** A plain-text / Markdown table (pipes), columns padded for the terminal. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Reject after `ms` with `message` unless `promise` settles first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
