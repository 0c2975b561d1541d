/**
 * Load generator of the tokenize benchmark. Runs in its OWN process (forked by bench/tokenize.ts
 * with an IPC channel) so that it shares an event loop with neither the server under test nor
 * the bench's JWKS/notice server.
 *
 * Every request carries a freshly pre-signed pivot token (each `jti` is consumed once), signed
 * before the timed part of each phase. Requests go over node:http with a keep-alive Agent.
 *
 * Commands (IPC, one at a time): `warm`, `open` (fixed rate, latency from the SCHEDULED send
 * time, so a stalled server cannot hide its queueing: no coordinated omission), `closed` (N
 * concurrent connections, each sends its next request when the previous one answered).
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { SignJWT, importJWK, type JWK } from 'jose';

export interface Target {
  readonly port: number;
  /** Sent as Origin (the vault requires its own origin) and used as the tokens' `aud`. */
  readonly origin: string;
}

export interface TokenClaimsBase {
  readonly issuer: string;
  readonly audience: string;
  readonly parentOrigin: string;
}

export type LoadCommand =
  | { op: 'init'; privateJwk: JWK; kid: string; claims: TokenClaimsBase }
  | { op: 'warm'; target: Target; count: number; concurrency: number }
  | { op: 'open'; target: Target; rate: number; durationS: number; timeoutMs: number }
  | { op: 'closed'; target: Target; concurrency: number; durationS: number; pool: number; timeoutMs: number }
  /** Send one request at a time until two in a row answer within `thresholdMs` (the server drained its backlog). */
  | { op: 'idle'; target: Target; thresholdMs: number; maxMs: number }
  | { op: 'exit' };

export interface PhaseResult {
  /** Requests sent. */
  sent: number;
  /** 201 answers. */
  ok: number;
  /** Non-201 answers, socket errors and timeouts. */
  errors: number;
  /** A few distinct error descriptions (status + body start, or error code). */
  errorSamples: string[];
  /** Latencies of the 201 answers, in ms (open loop: from the scheduled send time). */
  latencies: number[];
  /** From the first scheduled send to the last answer, in ms. */
  elapsedMs: number;
  /** Time spent pre-signing tokens for this phase (not part of elapsedMs), in ms. */
  signMs: number;
  /** Closed loop: the token pool ran out before the duration. */
  poolExhausted?: boolean;
  /** Open loop: how late the timer fired, worst case, in ms (the generator's own lag). */
  maxSendLagMs?: number;
}

export type LoadReply = { ok: true; result?: PhaseResult } | { ok: false; error: string };

let signer: { key: CryptoKey | Uint8Array; kid: string; claims: TokenClaimsBase } | null = null;
const expYear = new Date().getUTCFullYear() + 3;
const SIGN_BATCH = 256;

async function signBodies(count: number): Promise<string[]> {
  if (!signer) throw new Error('load generator not initialised');
  const { key, kid, claims } = signer;
  const bodies: string[] = new Array(count);
  const now = Math.floor(Date.now() / 1000);
  const cnv = `cnv_bench${randomBytes(6).toString('hex')}`;
  const signOne = async (i: number): Promise<void> => {
    const token = await new SignJWT({
      origin: claims.parentOrigin,
      cnv,
      step: {
        id: `stp_${randomBytes(12).toString('base64url')}`,
        kind: 'card_payment',
        amount: { minor: 1250, currency: 'EUR' },
        purpose: 'Benchmark payment',
        reference: `BENCH-${i}`,
      },
      acr: 'bank',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'pivot+jwt', kid })
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setSubject('cus_bench')
      .setJti(`jti_${randomBytes(16).toString('base64url')}`)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 120)
      .sign(key);
    bodies[i] = JSON.stringify({ pivotToken: token, card: { number: '4242424242424242', expMonth: 12, expYear, cvc: '123' } });
  };
  // WebCrypto signs on the libuv pool: batches use both cores (about twice as fast as one by one).
  for (let start = 0; start < count; start += SIGN_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + SIGN_BATCH); i++) batch.push(signOne(i));
    await Promise.all(batch);
  }
  return bodies;
}

interface Outcome {
  status: number;
  body?: string;
  error?: string;
}

function post(agent: Agent, target: Target, body: string, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    // Whole-request deadline from creation (also covers time queued in the Agent for a socket).
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, error: `timeout ${timeoutMs} ms` });
    }, timeoutMs);
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port: target.port,
        method: 'POST',
        path: '/v1/tokens',
        headers: { 'content-type': 'application/json', origin: target.origin, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status === 201) {
          res.resume();
          res.once('end', () => done({ status }));
        } else {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (text.length < 300) text += c;
          });
          res.once('end', () => done({ status, body: text.slice(0, 200) }));
        }
        res.once('error', (e: NodeJS.ErrnoException) => done({ status: 0, error: e.code ?? e.message }));
      },
    );
    req.once('error', (e: NodeJS.ErrnoException) => done({ status: 0, error: e.code ?? e.message }));
    req.end(body);
  });
}

function describe(outcome: Outcome): string {
  return outcome.error ? `error ${outcome.error}` : `HTTP ${outcome.status} ${outcome.body ?? ''}`.trim();
}

function newResult(signMs: number): PhaseResult {
  return { sent: 0, ok: 0, errors: 0, errorSamples: [], latencies: [], elapsedMs: 0, signMs };
}

function record(result: PhaseResult, outcome: Outcome, latency: number): void {
  if (outcome.status === 201) {
    result.ok++;
    result.latencies.push(latency);
  } else {
    result.errors++;
    const text = describe(outcome);
    if (result.errorSamples.length < 5 && !result.errorSamples.includes(text)) result.errorSamples.push(text);
  }
}

const agents = new Map<number, Agent>();
function agentFor(target: Target): Agent {
  let agent = agents.get(target.port);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });
    agents.set(target.port, agent);
  }
  return agent;
}

/** Closed loop with `concurrency` workers over `bodies`, for at most `durationS`. */
async function closedLoop(target: Target, bodies: string[], concurrency: number, durationS: number, timeoutMs: number, signMs: number): Promise<PhaseResult> {
  const agent = agentFor(target);
  const result = newResult(signMs);
  const start = performance.now();
  const end = start + durationS * 1000;
  let next = 0;
  const worker = async () => {
    while (next < bodies.length && performance.now() < end) {
      const body = bodies[next++]!;
      result.sent++;
      const t0 = performance.now();
      const outcome = await post(agent, target, body, timeoutMs);
      record(result, outcome, performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.elapsedMs = performance.now() - start;
  result.poolExhausted = next >= bodies.length && performance.now() < end;
  return result;
}

/** Open loop: request i is due at start + i / rate; latency counts from that due time. */
async function openLoop(target: Target, rate: number, durationS: number, timeoutMs: number): Promise<PhaseResult> {
  const total = Math.round(rate * durationS);
  const t = performance.now();
  const bodies = await signBodies(total);
  const agent = agentFor(target);
  const result = newResult(performance.now() - t);
  const interval = 1000 / rate;
  const start = performance.now() + 20;
  let next = 0;
  let lastAnswer = start;
  let maxLag = 0;
  const pending: Promise<void>[] = [];
  await new Promise<void>((resolveAll) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const due = start + next * interval;
        maxLag = Math.max(maxLag, now - due);
        const body = bodies[next++]!;
        result.sent++;
        pending.push(
          post(agent, target, body, timeoutMs).then((outcome) => {
            lastAnswer = performance.now();
            record(result, outcome, lastAnswer - due);
          }),
        );
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
      else resolveAll();
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  await Promise.all(pending);
  result.elapsedMs = lastAnswer - start;
  result.maxSendLagMs = maxLag;
  return result;
}

async function run(command: LoadCommand): Promise<PhaseResult | undefined> {
  switch (command.op) {
    case 'init': {
      const key = await importJWK(command.privateJwk, 'ES256');
      signer = { key, kid: command.kid, claims: command.claims };
      return undefined;
    }
    case 'warm': {
      const t = performance.now();
      const bodies = await signBodies(command.count);
      return closedLoop(command.target, bodies, command.concurrency, 60, 10_000, performance.now() - t);
    }
    case 'open':
      return openLoop(command.target, command.rate, command.durationS, command.timeoutMs);
    case 'closed': {
      const t = performance.now();
      const bodies = await signBodies(command.pool);
      return closedLoop(command.target, bodies, command.concurrency, command.durationS, command.timeoutMs, performance.now() - t);
    }
    case 'idle': {
      const t = performance.now();
      const bodies = await signBodies(200);
      const agent = agentFor(command.target);
      const result = newResult(performance.now() - t);
      const start = performance.now();
      let fast = 0;
      for (const body of bodies) {
        if (fast >= 2 || performance.now() - start > command.maxMs) break;
        const t0 = performance.now();
        const outcome = await post(agent, command.target, body, command.maxMs);
        const latency = performance.now() - t0;
        result.sent++;
        record(result, outcome, latency);
        fast = outcome.status === 201 && latency <= command.thresholdMs ? fast + 1 : 0;
        if (fast === 0) await new Promise((r) => setTimeout(r, 100));
      }
      result.elapsedMs = performance.now() - start;
      return result;
    }
    case 'exit':
      for (const agent of agents.values()) agent.destroy();
      // Leave once the reply is out.
      setImmediate(() => process.disconnect?.());
      return undefined;
  }
}

if (process.send) {
  process.on('message', (command: LoadCommand) => {
    const reply = (message: LoadReply) => {
      if (process.connected) process.send?.(message);
    };
    run(command).then(
      (result) => reply({ ok: true, result }),
      (error: unknown) => reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}
