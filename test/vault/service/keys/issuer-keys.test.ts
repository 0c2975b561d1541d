/**
 * The vault's copy of the trusted issuer's keys (vault/service/keys/issuer-keys.ts): when it fetches,
 * measured on the vault's clock (here a number the test moves), never on the wall clock.
 */
import { errors, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIssuerKeys } from '../../../../vault/service/keys/issuer-keys.ts';
import { createIssuer, listen, type TestServer } from '../../helpers.ts';

const MAX_AGE_MS = 60_000;
const COOLDOWN_MS = 30_000;
const OPTIONS = { maxAgeMs: MAX_AGE_MS, cooldownMs: COOLDOWN_MS, timeoutMs: 5_000 };

let upstream: TestServer;
/** What the upstream serves; null: it answers 503. */
let served: { keys: JWK[] } | null;
let fetches = 0;
let a: JWK;
let b: JWK;
let now = 1_000_000;
const clock = () => now;
const header = (kid: string) => ({ alg: 'ES256', kid });

beforeAll(async () => {
  a = (await createIssuer('key-a')).jwks.keys[0]!;
  b = (await createIssuer('key-b')).jwks.keys[0]!;
  upstream = await listen((_req, res) => {
    fetches++;
    if (!served) res.writeHead(503).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
  });
});
afterAll(() => upstream.close());
beforeEach(() => {
  served = { keys: [a] };
  fetches = 0;
});

describe('issuer keys on the vault clock', () => {
  it(`refetches for an unknown kid only once the cooldown (${COOLDOWN_MS} ms) is over`, async () => {
    const keys = createIssuerKeys(upstream.url, { ...OPTIONS, clock });
    await keys.getKey(header('key-a'), { payload: '', signature: '' });
    expect(fetches).toBe(1);
    served = { keys: [b, a] };
    now += COOLDOWN_MS - 1;
    await expect(keys.getKey(header('key-b'), { payload: '', signature: '' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(fetches).toBe(1);
    now += 1;
    await keys.getKey(header('key-b'), { payload: '', signature: '' });
    expect(fetches).toBe(2);
  });

  it(`fetches again for a known kid once the set is ${MAX_AGE_MS} ms old`, async () => {
    const keys = createIssuerKeys(upstream.url, { ...OPTIONS, clock });
    await keys.getKey(header('key-a'), { payload: '', signature: '' });
    now += MAX_AGE_MS - 1;
    await keys.getKey(header('key-a'), { payload: '', signature: '' });
    expect(fetches).toBe(1);
    now += 1;
    await keys.getKey(header('key-a'), { payload: '', signature: '' });
    expect(fetches).toBe(2);
  });

  it('serves the public set from cache within the cooldown, refetches after it, and serves a set within its max age when the upstream fails', async () => {
    const keys = createIssuerKeys(upstream.url, { ...OPTIONS, clock });
    expect((await keys.publicJwks()).keys.map((k) => k.kid)).toEqual(['key-a']);
    served = { keys: [b, a] };
    now += COOLDOWN_MS - 1;
    expect((await keys.publicJwks()).keys.map((k) => k.kid)).toEqual(['key-a']);
    now += 1;
    expect((await keys.publicJwks()).keys.map((k) => k.kid)).toEqual(['key-b', 'key-a']);
    served = null;
    now += COOLDOWN_MS;
    expect((await keys.publicJwks()).keys.map((k) => k.kid)).toEqual(['key-b', 'key-a']); // within max age
    now += MAX_AGE_MS;
    await expect(keys.publicJwks()).rejects.toMatchObject({ code: 'JWKS_UNAVAILABLE' });
    expect(fetches).toBe(4);
  });
});
