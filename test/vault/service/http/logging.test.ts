import { describe, expect } from 'vitest';
import { scrub } from '../../../../vault/service/http/logging.ts';
import { createFileKeyProvider, type KeyProvider } from '../../../../vault/service/keys/key-provider.ts';
import { AMEX, logCapture, pivotClaims, tempDir, tokenizeBody, vaultTest } from '../../helpers.ts';
import { JWT_PATTERN, secretsIn } from '../../../secret-scan.ts';

const CVC = '8513';
const log = logCapture();
let failNextKey = false;
const tokens: string[] = [];

/** The file's vault logs to `log`, on keys that can be made to fail (failNextKey). */
const it = vaultTest.override('vaultSetup', { scope: 'file' }, ({}, { onCleanup }) => {
  const keysDir = tempDir();
  onCleanup(() => keysDir.remove());
  const real = createFileKeyProvider(keysDir.path);
  // A provider that can be made to fail with the PAN in its message, as a careless KMS client might.
  const keyProvider: KeyProvider = {
    ...real,
    currentDataKey: async () => {
      if (failNextKey) {
        failNextKey = false;
        throw new Error(`kms refused plaintext ${AMEX} for eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl`);
      }
      return real.currentDataKey();
    },
  };
  return { deps: { logStream: log.stream, keyProvider } };
});

/** Log lines without their timing/process fields (which are digits that could collide). */
function logText(): string {
  return log
    .text()
    .trim()
    .split('\n')
    .map((line) => {
      const { time: _t, pid: _p, hostname: _h, responseTime: _r, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify(rest);
    })
    .join('\n');
}

describe('vault logs', () => {
  it('never contain the PAN, the CVC, the cardholder name or the pivot token, whatever the outcome', async ({ vault }) => {
    const send = async (body: unknown, headers: Record<string, string> = {}, url = '/v1/tokens') => {
      const token = await vault.issuer.sign(pivotClaims());
      tokens.push(token);
      const payload = typeof body === 'function' ? (body as (t: string) => unknown)(token) : body;
      return vault.service.app.inject({
        method: 'POST',
        url,
        headers: { origin: vault.config.origin, 'content-type': 'application/json', ...headers },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    };
    const card = { number: AMEX, cvc: CVC, name: 'Grace Hopper' };

    expect((await send((t: string) => tokenizeBody(t, card))).statusCode).toBe(201);
    expect((await send((t: string) => tokenizeBody(t, { ...card, expYear: 2001 }))).statusCode).toBe(422);
    expect((await send((t: string) => JSON.stringify(tokenizeBody(t, card)).slice(0, -3))).statusCode).toBe(400);
    expect((await send((t: string) => ({ ...tokenizeBody(t, card), pad: 'x'.repeat(9000) }))).statusCode).toBe(413);
    expect((await send((t: string) => tokenizeBody(t, card), { 'content-type': 'text/plain' })).statusCode).toBe(415);
    expect((await send((t: string) => tokenizeBody(t, card), { origin: 'http://evil.localhost' })).statusCode).toBe(403);
    expect((await send((t: string) => tokenizeBody(`${t}x`, card))).statusCode).toBe(401);
    expect((await send((t: string) => tokenizeBody(t, card), {}, `/v1/tokens?pan=${AMEX}&cvc=${CVC}`)).statusCode).toBe(201);
    failNextKey = true;
    const failed = await send((t: string) => tokenizeBody(t, card));
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toEqual({ error: { code: 'INTERNAL_ERROR', message: expect.any(String) } });
    expect(failed.body).not.toContain(AMEX);

    const text = logText();
    expect(text).toContain('card tokenized');
    expect(text).toContain('request failed');
    expect(secretsIn(text, [AMEX, '3782 822463 10005', CVC, '"cvc"', 'Grace Hopper', ...tokens])).toEqual([]);
    expect(text).not.toMatch(JWT_PATTERN);
  });
});

describe('scrub', () => {
  it('removes PAN-like digit runs and compact JWSs', () => {
    expect(scrub(`pan 4242 4242 4242 4242 and 378282246310005 and 4242-4242-4242-4242`)).toBe('pan [redacted-digits] and [redacted-digits] and [redacted-digits]');
    expect(scrub('tok eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl end')).toBe('tok [redacted-jws] end');
    expect(scrub('status 201 in 12 ms')).toBe('status 201 in 12 ms');
  });
});
