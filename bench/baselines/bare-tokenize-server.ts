/**
 * Baseline for the tokenize benchmark: a bare `node:http` server doing the same per-request work
 * as `POST /v1/tokens` of the vault, with no framework, no schema library, no query builder and
 * no notice outbox:
 *
 *   read + JSON.parse the body -> Origin check -> jose jwtVerify (ES256, typ, iss, aud, required
 *   claims, clock tolerance; a LOCAL public key, no fetch) -> `origin` claim check -> Luhn +
 *   expiry + CVC -> AES-256-GCM of the PAN (random 12-byte IV, card token as AAD) -> HMAC-SHA256
 *   fingerprint -> one better-sqlite3 transaction: insert used jti (primary key = replay guard)
 *   + insert the card row -> 201 with brand/last4/expiry and the token.
 *
 * SQLite pragmas are the vault's (vault/service/store/db.ts): WAL, synchronous NORMAL, busy_timeout,
 * foreign_keys, secure_delete.
 *
 * Env: HOST, PORT, DATA_DIR, PUBLIC_JWK (JSON, with kid), ISSUER, AUDIENCE (= the vault origin the
 * tokens name), ALLOWED_PARENT_ORIGIN. Prints `bare-tokenize listening <port>` when ready.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { importJWK, jwtVerify, type JWK } from 'jose';

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`bare-tokenize-server: ${name} is required`);
  return value;
};

const host = env.HOST ?? '127.0.0.1';
const port = Number(required('PORT'));
const issuer = required('ISSUER');
const audience = required('AUDIENCE');
const allowedParent = required('ALLOWED_PARENT_ORIGIN');
const jwk = JSON.parse(required('PUBLIC_JWK')) as JWK;
const publicKey = await importJWK(jwk, 'ES256');
const dataKey = randomBytes(32);
const hmacKey = randomBytes(32);
const MAX_BODY = 8 * 1024;

const db = new Database(join(required('DATA_DIR'), 'bare.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = ON');
db.pragma('secure_delete = ON');
db.exec(`
  create table if not exists used_jti (jti text primary key, exp integer not null, used_at text not null);
  create index if not exists used_jti_exp on used_jti (exp);
  create table if not exists cards (
    token text primary key, key_id text not null, iv blob not null, ciphertext blob not null,
    auth_tag blob not null, fingerprint text not null, fingerprint_kid text not null, brand text not null,
    last4 text not null, exp_month integer not null, exp_year integer not null, pivot_jti text not null unique,
    conversation_id text not null, step_id text not null, subject text not null, created_at text not null);
  create index if not exists cards_fingerprint on cards (fingerprint);
`);
const insertJti = db.prepare('insert into used_jti (jti, exp, used_at) values (?, ?, ?)');
const insertCard = db.prepare(
  `insert into cards (token, key_id, iv, ciphertext, auth_tag, fingerprint, fingerprint_kid, brand, last4,
     exp_month, exp_year, pivot_jti, conversation_id, step_id, subject, created_at)
   values (?, 'dk1', ?, ?, ?, ?, 'hk1', 'visa', ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const store = db.transaction((row: unknown[], jti: string, exp: number, at: string) => {
  insertJti.run(jti, exp, at);
  insertCard.run(...row);
});

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const fail = (res: ServerResponse, status: number, code: string) => send(res, status, { error: { code, message: code } });

async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
  if (req.headers.origin !== audience) return fail(res, 403, 'ORIGIN_NOT_ALLOWED');
  let body: { pivotToken?: unknown; card?: { number?: unknown; expMonth?: unknown; expYear?: unknown; cvc?: unknown } };
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    return fail(res, 400, 'BAD_REQUEST');
  }
  const card = body.card;
  if (typeof body.pivotToken !== 'string' || !card || typeof card.number !== 'string' || typeof card.cvc !== 'string') {
    return fail(res, 400, 'BAD_REQUEST');
  }
  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(body.pivotToken, publicKey, {
      algorithms: ['ES256'],
      typ: 'pivot+jwt',
      issuer,
      audience,
      requiredClaims: ['exp', 'iat', 'jti', 'nbf'],
      clockTolerance: 30,
    }));
  } catch {
    return fail(res, 401, 'TOKEN_INVALID');
  }
  if (claims.origin !== allowedParent) return fail(res, 401, 'TOKEN_ORIGIN_MISMATCH');
  const pan = card.number.replace(/ /g, '');
  const expMonth = Number(card.expMonth);
  const expYear = Number(card.expYear);
  const now = new Date();
  const expired = expYear < now.getUTCFullYear() || (expYear === now.getUTCFullYear() && expMonth < now.getUTCMonth() + 1);
  if (!/^[0-9]{12,19}$/.test(pan) || !luhn(pan)) return fail(res, 422, 'CARD_NUMBER_INVALID');
  if (!(expMonth >= 1 && expMonth <= 12) || expired) return fail(res, 422, 'CARD_EXPIRED');
  if (!/^[0-9]{3}$/.test(card.cvc)) return fail(res, 422, 'CARD_CVC_INVALID');

  const token = `tok_${randomBytes(24).toString('base64url')}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(token, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify({ pan }), 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  const fingerprint = createHmac('sha256', hmacKey).update(pan, 'utf8').digest('hex');
  const last4 = pan.slice(-4);
  const at = now.toISOString();
  const step = claims.step as { id?: unknown } | undefined;
  try {
    store(
      [token, iv, ciphertext, tag, fingerprint, last4, expMonth, expYear, claims.jti, String(claims.cnv), String(step?.id), String(claims.sub), at],
      String(claims.jti),
      Number(claims.exp),
      at,
    );
  } catch (error) {
    if (String((error as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')) return fail(res, 409, 'TOKEN_REPLAYED');
    throw error;
  }
  send(res, 201, { token, brand: 'visa', last4, expMonth, expYear });
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/tokens') return fail(res, 404, 'NOT_FOUND');
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return fail(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY) tooBig = true;
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooBig) return fail(res, 413, 'BODY_TOO_LARGE');
    handle(req, res, Buffer.concat(chunks).toString('utf8')).catch(() => {
      if (!res.headersSent) fail(res, 500, 'INTERNAL_ERROR');
    });
  });
});
// Same keep-alive as Fastify's default, so idle client sockets are not closed under the benchmark.
server.keepAliveTimeout = 72_000;
server.listen(port, host, () => process.stdout.write(`bare-tokenize listening ${port}\n`));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    db.close();
    process.exit(0);
  });
}
