/**
 * The PCI evidence pack of the vault boundary: `npm run audit:boundary` (builds first).
 *
 * Starts the vault service as a child process (temp DATA_DIR, free port, a tiny local JWKS
 * server standing in for the pivot-token issuer), collects the evidence from the RUNNING system
 * and writes `audit/<YYYY-MM-DD>/boundary.md` + `boundary.json`:
 *
 * - every script/stylesheet the frame page loads, its SHA-384 checked against its `integrity`
 *   attribute (PCI DSS 4.0 req. 6.4.3), and compared with the committed inventory
 *   `vault/frame-inventory.json` (req. 11.6.1 change detection; `--update-inventory` rewrites it);
 * - the response headers as served, and the required ones checked;
 * - the trusted origins and issuer (CSP `frame-ancestors`, the frame's embedded JSON config);
 * - key ids and dates (vault JWKS, the key file's metadata: NEVER key material);
 * - the data-flow diagram (from vault/BOUNDARY.md), the attack suite's results, and a SHA-256
 *   of the vault source tree (vault/ + the protocol/ files it imports).
 *
 * One file past the usual ~400 lines on purpose: it is a linear script (start, collect, check,
 * write), and an auditor reads the whole procedure top to bottom in one place; the reusable,
 * tested part (inventory comparison) lives in scripts/lib/inventory.ts.
 *
 * Exits non-zero when a check fails. This script imports no vault/ code: it talks to the vault
 * over HTTP like any client and reads vault files only as text (dependency rule
 * `nothing-imports-vault`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import {
  buildInventory,
  compareInventory,
  describeChanges,
  parseInventory,
  scanFramePage,
  serializeInventory,
  sha384Integrity,
  type InventoryChange,
  type InventoryEntry,
} from './lib/inventory.ts';

const ROOT = resolve(import.meta.dirname, '..');
const INVENTORY_FILE = 'vault/frame-inventory.json';
const BOUNDARY_DOC = 'vault/BOUNDARY.md';
const KEY_FILE_NAME = 'vault-keys.json';
const CONFIG_ELEMENT_ID = 'spc-vault-config';
const updateInventory = process.argv.includes('--update-inventory');
const UPDATE_HINT =
  `If the change to the frame's scripts is intended: review it, run \`npm run audit:boundary -- --update-inventory\` and commit ${INVENTORY_FILE} with it.`;

// ---- small helpers ----

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createNetServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

function posixPath(path: string): string {
  return path.split(/[\\/]/).join(posix.sep);
}

// ---- resources to release on every exit path ----

let child: ChildProcess | null = null;
let jwksServer: Server | null = null;
let dataDir: string | null = null;
const scratch: string[] = [];

async function cleanup(): Promise<void> {
  if (child && child.exitCode === null && child.signalCode === null) {
    const c = child;
    const exited = new Promise<void>((ok) => c.once('exit', () => ok()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  child = null;
  if (jwksServer) await new Promise<void>((ok) => jwksServer!.close(() => ok()));
  jwksServer = null;
  for (const dir of [dataDir, ...scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
  dataDir = null;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- the issuer stand-in: a JWKS (and a notice sink) on 127.0.0.1 ----

async function startIssuerStub(): Promise<{ port: number; kid: string }> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = 'audit-issuer-1';
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
  const server = createHttpServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else if (req.method === 'POST' && req.url === '/v1/vault/notices') {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    } else {
      res.writeHead(404).end();
    }
  });
  jwksServer = server;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, kid };
}

// ---- the vault, as a child process ----

interface VaultRun {
  readonly base: string;
  readonly env: Record<string, string>;
  output(): string;
}

async function startVault(issuerPort: number): Promise<VaultRun> {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'spc-audit-vault-'));
  const bankOrigin = process.env.BANK_ORIGIN ?? 'http://bank.localhost:8080';
  const chatOrigin = process.env.CHAT_ORIGIN ?? 'http://chat.localhost:8081';
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    VAULT_PORT: String(port),
    DATA_DIR: dataDir,
    BANK_ORIGIN: bankOrigin,
    CHAT_ORIGIN: chatOrigin,
    VAULT_ORIGIN: `http://vault.localhost:${port}`,
    VAULT_ALLOWED_PARENT_ORIGINS: process.env.VAULT_ALLOWED_PARENT_ORIGINS ?? bankOrigin,
    VAULT_TRUSTED_ISSUER: process.env.VAULT_TRUSTED_ISSUER ?? chatOrigin,
    CHAT_INTERNAL_URL: `http://127.0.0.1:${issuerPort}`,
    VAULT_ISSUER_JWKS_URL: `http://127.0.0.1:${issuerPort}/.well-known/jwks.json`,
    VAULT_NOTICE_URL: `http://127.0.0.1:${issuerPort}/v1/vault/notices`,
    LOG_LEVEL: 'warn',
  };
  const passed: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[name]) passed[name] = process.env[name]!;
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'vault/service/main.ts')], {
    cwd: ROOT,
    env: { ...passed, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`vault exited before it was ready:\n${tail.trim()}`);
    if (tail.includes('vault: ')) break;
    if (Date.now() > deadline) throw new Error(`vault not ready after 60 s:\n${tail.trim()}`);
    await sleep(100);
  }
  return { base, env, output: () => tail };
}

// ---- evidence: HTTP ----

interface Served {
  readonly request: string;
  readonly status: number;
  readonly headers: Record<string, string>;
}

async function request(base: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<{ served: Served; body: Buffer }> {
  const res = await fetch(`${base}${path}`, { method, headers: init.headers, body: init.body, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  const headers: Record<string, string> = {};
  for (const [name, value] of [...res.headers.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) headers[name] = value;
  return { served: { request: `${method} ${path}`, status: res.status, headers }, body };
}

interface HeaderCheck {
  readonly request: string;
  readonly problems: string[];
}

/** The headers every vault response must carry (vault/BOUNDARY.md §6). */
function checkHeaders(served: Served): HeaderCheck {
  const h = served.headers;
  const problems: string[] = [];
  const csp = h['content-security-policy'];
  if (!csp) problems.push('Content-Security-Policy missing');
  else {
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map((parts) => [parts[0]!.toLowerCase(), parts.slice(1)] as const),
    );
    if (!directives.get('frame-ancestors')?.length) problems.push('CSP frame-ancestors missing');
    if (directives.get('default-src')?.join(' ') !== "'none'") problems.push("CSP default-src 'none' missing");
    if (!directives.get('require-trusted-types-for')?.includes("'script'")) problems.push("CSP require-trusted-types-for 'script' missing");
  }
  if (h['x-content-type-options']?.toLowerCase() !== 'nosniff') problems.push('X-Content-Type-Options: nosniff missing');
  if (h['referrer-policy']?.toLowerCase() !== 'no-referrer') problems.push('Referrer-Policy: no-referrer missing');
  if (!h['cross-origin-resource-policy']) problems.push('Cross-Origin-Resource-Policy missing');
  if (!h['permissions-policy']) problems.push('Permissions-Policy missing');
  return { request: served.request, problems };
}

function cspDirective(csp: string | undefined, name: string): string[] {
  for (const d of (csp ?? '').split(';')) {
    const parts = d.trim().split(/\s+/);
    if (parts[0]?.toLowerCase() === name) return parts.slice(1);
  }
  return [];
}

// ---- evidence: keys (ids and dates only) ----

interface KeyMeta {
  readonly kid: string;
  readonly createdAt: string;
  readonly current?: boolean;
}

function keyFileMetadata(dir: string): { dataKeys: KeyMeta[]; hmacKey: KeyMeta | null; noticeKeys: KeyMeta[]; fileMode: string } {
  const file = join(dir, KEY_FILE_NAME);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // Pick kid + createdAt by name: never spread or copy the objects (they hold key material).
  const meta = (entry: unknown, currentKid?: unknown): KeyMeta => {
    const e = (entry ?? {}) as Record<string, unknown>;
    const kid = typeof e.kid === 'string' ? e.kid : '(none)';
    const createdAt = typeof e.createdAt === 'string' ? e.createdAt : '(none)';
    return currentKid === undefined ? { kid, createdAt } : { kid, createdAt, current: kid === currentKid };
  };
  const list = (value: unknown, currentKid: unknown) => (Array.isArray(value) ? value.map((e) => meta(e, currentKid)) : []);
  return {
    dataKeys: list(raw.dataKeys, raw.currentDataKid),
    hmacKey: raw.hmacKey ? meta(raw.hmacKey) : null,
    noticeKeys: list(raw.noticeKeys, raw.currentNoticeKid),
    fileMode: (statSync(file).mode & 0o777).toString(8).padStart(4, '0'),
  };
}

/** Every secret value of the key file (to prove the report holds none of them). */
function keyMaterial(dir: string): string[] {
  const found: string[] = [];
  const visit = (value: unknown, name: string): void => {
    if (typeof value === 'string' && ['key', 'd', 'p', 'q', 'dp', 'dq', 'qi'].includes(name) && value.length >= 16) found.push(value);
    else if (Array.isArray(value)) value.forEach((v) => visit(v, name));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  visit(JSON.parse(readFileSync(join(dir, KEY_FILE_NAME), 'utf8')), '');
  if (found.length === 0) throw new Error(`${KEY_FILE_NAME}: no key material found where expected (format changed?)`);
  return found;
}

function jwksKids(body: Buffer): Array<{ kid: string; alg: string; kty: string; crv: string; use: string; hasPrivate: boolean }> {
  const jwks = JSON.parse(body.toString('utf8')) as { keys?: Array<Record<string, unknown>> };
  return (jwks.keys ?? []).map((k) => ({
    kid: String(k.kid ?? ''),
    alg: String(k.alg ?? ''),
    kty: String(k.kty ?? ''),
    crv: String(k.crv ?? ''),
    use: String(k.use ?? ''),
    hasPrivate: 'd' in k,
  }));
}

// ---- evidence: source tree ----

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    if (name.isDirectory()) out.push(...walk(path));
    else if (name.isFile()) out.push(path);
  }
  return out;
}

/** protocol/ files reachable from vault/ by relative imports (read as text, never executed). */
function protocolImports(files: readonly string[]): string[] {
  const found = new Set<string>();
  const queue = files.filter((f) => /\.[cm]?tsx?$/.test(f));
  const seen = new Set(queue);
  while (queue.length) {
    const file = queue.pop()!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), m[1] ?? m[2]!);
      const rel = posixPath(relative(ROOT, target));
      if (rel.startsWith('protocol/') && existsSync(target) && !seen.has(target)) {
        seen.add(target);
        found.add(target);
        queue.push(target);
      }
    }
  }
  return [...found];
}

function sourceTreeHash(): { algorithm: string; treeSha256: string; files: Array<{ path: string; sha256: string }>; git: { commit: string; dirty: string[] } } {
  const vaultFiles = walk(join(ROOT, 'vault'));
  const all = [...vaultFiles, ...protocolImports(vaultFiles)].map((f) => posixPath(relative(ROOT, f))).sort();
  const files = all.map((path) => ({ path, sha256: sha256(readFileSync(join(ROOT, path))) }));
  const listing = files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git(['rev-parse', 'HEAD']);
  const status = git(['status', '--porcelain', '--', 'vault', 'protocol']);
  return {
    algorithm: 'sha256 of the lines "<sha256 of file>  <path>\\n", paths sorted (the format of `sha256sum`)',
    treeSha256: sha256(listing),
    files,
    git: {
      commit: head.status === 0 ? head.stdout.trim() : 'unknown',
      dirty: status.status === 0 ? status.stdout.split('\n').filter(Boolean) : [],
    },
  };
}

// ---- evidence: the data-flow diagram ----

function dataFlowSection(): string {
  const text = readFileSync(join(ROOT, BOUNDARY_DOC), 'utf8');
  const start = text.search(/^## \d*\.?\s*Data flow/m);
  if (start < 0) return '(no "Data flow" section found in vault/BOUNDARY.md)';
  const rest = text.slice(start);
  const next = rest.slice(3).search(/^## /m);
  return (next < 0 ? rest : rest.slice(0, next + 3)).trim();
}

// ---- evidence: the attack suite ----

interface AttackResult {
  readonly file: string;
  readonly name: string;
  readonly status: string;
  readonly durationMs: number;
}

function runAttackSuite(): { exitCode: number | null; passed: number; failed: number; other: number; tests: AttackResult[]; error?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'spc-audit-attacks-'));
  scratch.push(dir);
  const out = join(dir, 'attacks.json');
  const run = spawnSync('npx', ['vitest', 'run', 'test/attacks', '--reporter=json', `--outputFile=${out}`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!existsSync(out)) {
    return { exitCode: run.status, passed: 0, failed: 0, other: 0, tests: [], error: `no JSON report (${run.error?.message ?? `exit ${run.status}`}):\n${`${run.stdout}\n${run.stderr}`.trim().slice(-2000)}` };
  }
  const report = JSON.parse(readFileSync(out, 'utf8')) as {
    testResults?: Array<{ name: string; status?: string; message?: string; assertionResults?: Array<{ fullName?: string; title: string; status: string; duration?: number | null }> }>;
  };
  const tests: AttackResult[] = [];
  const fileErrors: string[] = [];
  for (const file of report.testResults ?? []) {
    const rel = posixPath(relative(ROOT, file.name));
    if (file.status === 'failed' && !(file.assertionResults ?? []).length) fileErrors.push(`${rel}: ${file.message ?? 'failed to run'}`);
    for (const t of file.assertionResults ?? []) {
      tests.push({ file: rel, name: t.fullName ?? t.title, status: t.status, durationMs: Math.round(t.duration ?? 0) });
    }
  }
  const passed = tests.filter((t) => t.status === 'passed').length;
  const failed = tests.filter((t) => t.status === 'failed').length + fileErrors.length;
  const error = fileErrors.length ? fileErrors.join('\n') : undefined;
  return { exitCode: run.status, passed, failed, other: tests.length - tests.filter((t) => t.status === 'passed' || t.status === 'failed').length, tests, ...(error ? { error } : {}) };
}

// ---- the report ----

function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

const code = (s: string) => `\`${s}\``;

async function main(): Promise<number> {
  const started = new Date();
  const failures: string[] = [];

  const issuer = await startIssuerStub();
  const vault = await startVault(issuer.port);
  const vaultOrigin = vault.env.VAULT_ORIGIN!;
  console.log(`vault started at ${vault.base} (origin ${vaultOrigin}, DATA_DIR ${vault.env.DATA_DIR})`);

  // 1. the frame page and every script/stylesheet it loads (6.4.3)
  const responses: Served[] = [];
  const frame = await request(vault.base, 'GET', '/frame');
  responses.push(frame.served);
  if (frame.served.status !== 200) failures.push(`GET /frame answered ${frame.served.status}`);
  const page = scanFramePage(frame.body.toString('utf8'));
  if (page.inlineScripts > 0) failures.push(`the frame page has ${page.inlineScripts} inline executable script(s)`);
  if (page.assets.length === 0) failures.push('the frame page loads no script at all (scan found nothing)');

  const assets: Array<{ path: string; kind: 'script' | 'stylesheet'; integrityAttribute: string | null; sha384: string; bytes: number; sameOrigin: boolean; matches: boolean }> = [];
  for (const asset of page.assets) {
    const url = new URL(asset.url, vaultOrigin);
    const sameOrigin = url.origin === vaultOrigin;
    if (!sameOrigin) failures.push(`${asset.url}: not on the vault origin`);
    const fetched = await request(vault.base, 'GET', url.pathname + url.search);
    responses.push(fetched.served);
    if (fetched.served.status !== 200) failures.push(`${fetched.served.request} answered ${fetched.served.status}`);
    const sha384 = sha384Integrity(fetched.body);
    const matches = asset.integrity !== null && asset.integrity.split(/\s+/).includes(sha384);
    if (asset.integrity === null) failures.push(`${url.pathname}: no integrity attribute`);
    else if (!matches) failures.push(`${url.pathname}: served sha384 ${sha384} does not match integrity ${asset.integrity}`);
    assets.push({ path: url.pathname, kind: asset.kind, integrityAttribute: asset.integrity, sha384, bytes: fetched.body.length, sameOrigin, matches });
  }

  // 2. change detection against the committed inventory (11.6.1)
  const served = buildInventory(assets.map((a): InventoryEntry => ({ path: a.path, kind: a.kind, sha384: a.sha384 })));
  const inventoryPath = join(ROOT, INVENTORY_FILE);
  let changes: readonly InventoryChange[] = [];
  let inventoryError: string | null = null;
  if (existsSync(inventoryPath)) {
    try {
      changes = compareInventory(parseInventory(JSON.parse(readFileSync(inventoryPath, 'utf8'))), served).changes;
    } catch (error) {
      inventoryError = `${INVENTORY_FILE}: ${(error as Error).message}`;
    }
  } else {
    inventoryError = `${INVENTORY_FILE} does not exist`;
  }
  const assetsIntact = assets.every((a) => a.matches && a.sameOrigin);
  let inventoryUpdated = false;
  if (updateInventory) {
    if (!assetsIntact) {
      failures.push('--update-inventory refused: a served file does not match its integrity attribute');
    } else {
      writeFileSync(inventoryPath, serializeInventory(served));
      inventoryUpdated = true;
      const what = inventoryError ? `written (was: ${inventoryError})` : changes.length ? `rewritten:\n  ${describeChanges(changes).join('\n  ')}` : 'unchanged';
      console.log(`${INVENTORY_FILE} ${what} (${served.entries.length} files)`);
    }
  } else {
    if (inventoryError) failures.push(`change detection: ${inventoryError}; create it with \`npm run audit:boundary -- --update-inventory\``);
    for (const line of describeChanges(changes)) failures.push(`change detection: ${line}`);
  }
  const changeDetectionOk = inventoryUpdated || (!inventoryError && changes.length === 0);

  // 3. headers as served
  const tokensOptions = await request(vault.base, 'OPTIONS', '/v1/tokens', { headers: { origin: 'http://attacker.localhost', 'access-control-request-method': 'POST' } });
  const tokensBad = await request(vault.base, 'POST', '/v1/tokens', { headers: { origin: vaultOrigin, 'content-type': 'application/json' }, body: '{}' });
  const jwks = await request(vault.base, 'GET', '/.well-known/jwks.json');
  const issuerJwks = await request(vault.base, 'GET', '/v1/issuer-jwks');
  const notFound = await request(vault.base, 'GET', '/frame/assets/not-a-file.js');
  responses.push(tokensOptions.served, tokensBad.served, jwks.served, issuerJwks.served, notFound.served);
  const headerChecks = responses.map(checkHeaders);
  for (const c of headerChecks) for (const p of c.problems) failures.push(`headers of ${c.request}: ${p}`);
  const xfo = responses.filter((r) => 'x-frame-options' in r.headers).map((r) => r.request);

  // 4. trusted origins and issuer, as the service exposes them
  const frameAncestors = cspDirective(frame.served.headers['content-security-policy'], 'frame-ancestors');
  let frameConfig: Record<string, unknown> | null = null;
  try {
    const text = page.jsonData[CONFIG_ELEMENT_ID];
    frameConfig = text === undefined ? null : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    frameConfig = null;
  }
  if (!frameConfig) failures.push(`the frame page has no valid <script type="application/json" id="${CONFIG_ELEMENT_ID}">`);
  const configured = vault.env.VAULT_ALLOWED_PARENT_ORIGINS!.split(',').map((s) => s.trim()).filter(Boolean);
  const sameSet = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && [...a].map(String).sort().join(' ') === [...b].map(String).sort().join(' ');
  const configParents = Array.isArray(frameConfig?.allowedParentOrigins) ? (frameConfig.allowedParentOrigins as unknown[]) : [];
  const originChecks = [
    { check: 'CSP frame-ancestors = configured VAULT_ALLOWED_PARENT_ORIGINS', ok: sameSet(frameAncestors, configured) },
    { check: 'frame config allowedParentOrigins = CSP frame-ancestors', ok: sameSet(configParents, frameAncestors) },
    { check: 'frame config issuer = configured VAULT_TRUSTED_ISSUER', ok: frameConfig?.issuer === vault.env.VAULT_TRUSTED_ISSUER },
    { check: 'frame config audience = VAULT_ORIGIN', ok: frameConfig?.audience === vaultOrigin },
    { check: 'no wildcard and not the vault origin among parents', ok: !frameAncestors.some((o) => o.includes('*') || o === vaultOrigin || o === "'self'") },
    { check: 'X-Frame-Options never sent (CSP frame-ancestors governs framing)', ok: xfo.length === 0 },
  ];
  for (const c of originChecks) if (!c.ok) failures.push(`trusted origins: ${c.check} does not hold`);

  // 5. keys: ids and dates only
  const vaultJwksKeys = jwksKids(jwks.body);
  const issuerJwksKeys = issuerJwks.served.status === 200 ? jwksKids(issuerJwks.body) : [];
  if (vaultJwksKeys.some((k) => k.hasPrivate) || issuerJwksKeys.some((k) => k.hasPrivate)) failures.push('a JWKS served by the vault contains a private key member (d)');
  const keyFile = keyFileMetadata(vault.env.DATA_DIR!);
  const secrets = keyMaterial(vault.env.DATA_DIR!);
  const noticeKidsServed = new Set(vaultJwksKeys.map((k) => k.kid));
  if (!keyFile.noticeKeys.every((k) => noticeKidsServed.has(k.kid))) failures.push('a notice-signing key of the key file is not in /.well-known/jwks.json');

  // The evidence from the running system is complete: stop the vault before the attack suite.
  await cleanup();

  // 6. the attack suite
  console.log('running the attack suite (npx vitest run test/attacks) ...');
  const attacks = runAttackSuite();
  if (attacks.error) failures.push(`attack suite: ${attacks.error}`);
  if (attacks.failed > 0) failures.push(`attack suite: ${attacks.failed} failed`);
  if (attacks.tests.length === 0) failures.push('attack suite: no test ran');
  if (attacks.exitCode !== 0 && attacks.failed === 0) failures.push(`attack suite: vitest exited ${attacks.exitCode}`);

  // 7. source tree hash, data flow
  const tree = sourceTreeHash();
  const dataFlow = dataFlowSection();

  // ---- write ----
  const day = started.toISOString().slice(0, 10);
  const outDir = join(ROOT, 'audit', day);
  mkdirSync(outDir, { recursive: true });
  const result = failures.length === 0 ? 'PASS' : 'FAIL';
  const json = {
    title: 'Vault boundary evidence pack',
    generatedAt: started.toISOString(),
    result,
    failures,
    command: `tsx scripts/audit-boundary.ts${updateInventory ? ' --update-inventory' : ''}`,
    git: tree.git,
    run: {
      note: 'A vault started for this audit: temp DATA_DIR (fresh keys), a local stand-in for the issuer JWKS. Origins as configured below.',
      environment: Object.fromEntries(Object.entries(vault.env).filter(([k]) => k !== 'DATA_DIR')),
    },
    scripts: { requirement: 'PCI DSS 4.0 req. 6.4.3', inlineExecutableScripts: page.inlineScripts, assets },
    changeDetection: { requirement: 'PCI DSS 4.0 req. 11.6.1', inventoryFile: INVENTORY_FILE, ok: changeDetectionOk, inventoryUpdated, error: inventoryError, changes },
    headers: { responses, checks: headerChecks },
    trustedOrigins: {
      configured: { VAULT_ALLOWED_PARENT_ORIGINS: configured, VAULT_TRUSTED_ISSUER: vault.env.VAULT_TRUSTED_ISSUER, VAULT_ISSUER_JWKS_URL: vault.env.VAULT_ISSUER_JWKS_URL, VAULT_ORIGIN: vaultOrigin },
      served: { cspFrameAncestors: frameAncestors, frameConfig },
      checks: originChecks,
    },
    keys: {
      note: 'Key ids and dates only; no key material is copied into this report.',
      vaultJwks: vaultJwksKeys,
      issuerJwks: issuerJwksKeys,
      keyFile: { file: `DATA_DIR/${KEY_FILE_NAME}`, ...keyFile },
    },
    dataFlow,
    attackSuite: { command: 'npx vitest run test/attacks --reporter=json', ...attacks },
    sourceTree: { algorithm: tree.algorithm, treeSha256: tree.treeSha256, files: tree.files },
  };
  const jsonText = `${JSON.stringify(json, null, 2)}\n`;

  const md: string[] = [
    `# Vault boundary evidence pack, ${day}`,
    '',
    `Result: **${result}**. Generated ${started.toISOString()} by \`npm run audit:boundary\` from commit \`${tree.git.commit}\`` +
      (tree.git.dirty.length ? ` with uncommitted changes under vault/ or protocol/ (${tree.git.dirty.length} paths).` : ' (vault/ and protocol/ clean).'),
    '',
    'The evidence below was collected from a vault service started for this run (`node --import tsx vault/service/main.ts`) with a temporary `DATA_DIR` (so fresh keys) and a local stand-in for the pivot-token issuer\'s JWKS. The machine-readable form is `boundary.json` beside this file.',
    '',
  ];
  if (failures.length) md.push('## Failures', '', ...failures.map((f) => `- ${f}`), '');
  md.push(
    '## 1. Scripts and stylesheets of the frame page (PCI DSS 4.0 req. 6.4.3)',
    '',
    `Every file below is loaded by \`GET /frame\`, served from the vault origin, and authorised by being listed in the committed, reviewed inventory \`${INVENTORY_FILE}\` (built by \`vite build --mode vault\` from \`vault/frame/\`). Inline executable scripts in the page: ${page.inlineScripts}. Third-party scripts: ${assets.filter((a) => !a.sameOrigin).length}.`,
    '',
    mdTable(
      ['path', 'kind', 'bytes', 'integrity attribute', 'SHA-384 of the served body', 'match'],
      assets.map((a) => [code(a.path), a.kind, String(a.bytes), a.integrityAttribute ? code(a.integrityAttribute) : '(none)', code(a.sha384), a.matches ? 'yes' : '**NO**']),
    ),
    '',
    '## 2. Change detection (PCI DSS 4.0 req. 11.6.1)',
    '',
    inventoryUpdated
      ? `The inventory \`${INVENTORY_FILE}\` was rewritten by this run (\`--update-inventory\`)${changes.length ? '; the changes it records:' : ' (no change).'}`
      : changeDetectionOk
        ? `The served files equal the committed inventory \`${INVENTORY_FILE}\` (${served.entries.length} files).`
        : `**The served files differ from the committed inventory \`${INVENTORY_FILE}\`.**${inventoryError ? ` ${inventoryError}.` : ''}`,
    '',
    ...describeChanges(changes).map((l) => `- ${l}`),
    ...(changes.length ? [''] : []),
    ...(changeDetectionOk ? [] : [UPDATE_HINT, '']),
    '## 3. Headers as served',
    '',
    mdTable(
      ['request', 'status', 'required headers'],
      headerChecks.map((c, i) => [code(c.request), String(responses[i]!.status), c.problems.length ? `**${c.problems.join('; ')}**` : 'all present']),
    ),
    '',
    "Required on every response: CSP with `frame-ancestors`, `default-src 'none'` and `require-trusted-types-for 'script'`; `X-Content-Type-Options: nosniff`; `Referrer-Policy: no-referrer`; `Cross-Origin-Resource-Policy`; `Permissions-Policy`.",
    '',
  );
  for (const r of responses) {
    md.push(`### \`${r.request}\` → ${r.status}`, '', '```', ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`), '```', '');
  }
  md.push(
    '## 4. Trusted origins and issuer',
    '',
    mdTable(
      ['trust', 'configured', 'as served'],
      [
        ['host pages that may frame the vault', configured.join(' '), `CSP frame-ancestors: ${frameAncestors.join(' ')}; frame config: ${configParents.join(' ')}`],
        ['pivot-token issuer', vault.env.VAULT_TRUSTED_ISSUER!, `frame config issuer: ${String(frameConfig?.issuer ?? '(none)')}`],
        ['issuer keys (server-side fetch)', vault.env.VAULT_ISSUER_JWKS_URL!, `GET /v1/issuer-jwks kids: ${issuerJwksKeys.map((k) => k.kid).join(', ') || '(none)'}`],
        ['the vault itself (token aud)', vaultOrigin, `frame config audience: ${String(frameConfig?.audience ?? '(none)')}`],
      ],
    ),
    '',
    mdTable(['check', 'holds'], originChecks.map((c) => [c.check, c.ok ? 'yes' : '**NO**'])),
    '',
    '## 5. Keys (ids and dates only)',
    '',
    `No key material is copied here. Key file \`DATA_DIR/${KEY_FILE_NAME}\`, mode ${keyFile.fileMode}. A temporary DATA_DIR was used, so these keys were created by this run; in production run the same reading against the real key provider.`,
    '',
    mdTable(
      ['key', 'kid', 'created', 'current', 'published'],
      [
        ...keyFile.dataKeys.map((k) => ['data key (AES-256-GCM)', code(k.kid), k.createdAt, k.current ? 'yes' : 'no', 'never']),
        ...(keyFile.hmacKey ? [['fingerprint key (HMAC-SHA256)', code(keyFile.hmacKey.kid), keyFile.hmacKey.createdAt, 'yes', 'never']] : []),
        ...keyFile.noticeKeys.map((k) => ['notice signing (ES256)', code(k.kid), k.createdAt, k.current ? 'yes' : 'no', noticeKidsServed.has(k.kid) ? 'public half in /.well-known/jwks.json' : '**not in JWKS**']),
      ],
    ),
    '',
    `\`/.well-known/jwks.json\`: ${vaultJwksKeys.map((k) => `${code(k.kid)} (${k.kty} ${k.crv} ${k.alg} ${k.use})`).join(', ') || '(empty)'}. Private members present: ${vaultJwksKeys.some((k) => k.hasPrivate) ? '**yes**' : 'none'}.`,
    '',
    '## 6. Data flow (from vault/BOUNDARY.md)',
    '',
    dataFlow.replace(/^## .*\n/, '').trim(),
    '',
    '## 7. Attack suite',
    '',
    `\`npx vitest run test/attacks\`: ${attacks.passed} passed, ${attacks.failed} failed${attacks.other ? `, ${attacks.other} skipped/todo` : ''}.`,
    '',
    ...(attacks.error ? ['```', attacks.error, '```', ''] : []),
    mdTable(['file', 'test', 'result'], attacks.tests.map((t) => [code(t.file), t.name, t.status === 'passed' ? 'pass' : `**${t.status}**`])),
    '',
    '## 8. Source tree hash',
    '',
    `SHA-256 of the vault's source tree (every file under \`vault/\` and the \`protocol/\` files it imports, ${tree.files.length} files): \`${tree.treeSha256}\`.`,
    `Computed as: ${tree.algorithm}. Reproduce: \`sha256sum <the paths below, in this order> | sha256sum\`.`,
    '',
    mdTable(['path', 'sha256'], tree.files.map((f) => [code(f.path), code(f.sha256)])),
    '',
  );
  const mdText = md.join('\n');
  // Belt and braces: no secret value of the key file may appear in the report.
  if (secrets.some((secret) => jsonText.includes(secret) || mdText.includes(secret))) {
    throw new Error('refusing to write the report: it would contain key material');
  }
  const mdPath = join(outDir, 'boundary.md');
  writeFileSync(join(outDir, 'boundary.json'), jsonText);
  writeFileSync(mdPath, mdText);

  console.log(`report: ${posixPath(relative(ROOT, mdPath))} (+ boundary.json)`);
  if (failures.length) {
    console.error(`audit FAILED:\n  ${failures.join('\n  ')}`);
    if (!changeDetectionOk) console.error(`\n${UPDATE_HINT}`);
    return 1;
  }
  console.log('audit passed');
  return 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  console.error(`audit failed to run: ${(error as Error).stack ?? String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
