/**
 * Card-testing guards on POST /v1/tokens: attempts per pivot token, and requests per client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLIENT_BURST,
  MAX_ATTEMPTS_PER_PIVOT_TOKEN,
  createAttemptLimiter,
  createClientLimiter,
} from '../../../../vault/service/steps/rate-limit.ts';
import { pivotClaims, postTokens, startVault, tokenizeBody, type VaultFixture } from '../../helpers.ts';

const open: VaultFixture[] = [];
afterEach(async () => {
  for (const v of open.splice(0)) await v.close();
});

describe('refused cards per pivot token', () => {
  it(`blocks a jti after ${MAX_ATTEMPTS_PER_PIVOT_TOKEN} refused cards; other jtis are independent`, () => {
    const limiter = createAttemptLimiter();
    for (let i = 0; i < MAX_ATTEMPTS_PER_PIVOT_TOKEN; i++) {
      expect(limiter.blocked('a', 900)).toBe(false);
      limiter.failed('a', 1000, 900);
    }
    expect(limiter.blocked('a', 900)).toBe(true);
    expect(limiter.blocked('b', 900)).toBe(false);
  });

  it('forgets a token after it expired', () => {
    const limiter = createAttemptLimiter(1);
    limiter.failed('a', 1000, 900);
    expect(limiter.blocked('a', 900)).toBe(true);
    expect(limiter.blocked('a', 1100)).toBe(false); // swept after exp
  });

  it('stops a holder of one pivot token from trying card numbers: 422s, then 429 RATE_LIMITED even for a valid card', async () => {
    const vault = await startVault();
    open.push(vault);
    const token = await vault.issuer.sign(pivotClaims());
    for (let i = 0; i < MAX_ATTEMPTS_PER_PIVOT_TOKEN; i++) {
      const res = await postTokens(vault.service, tokenizeBody(token, { number: `424242424242424${i === 2 ? 1 : 3}` }));
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('CARD_NUMBER_INVALID');
    }
    const last = await postTokens(vault.service, tokenizeBody(token));
    expect(last.statusCode).toBe(429);
    expect(last.json().error.code).toBe('RATE_LIMITED');
    expect(await vault.service.db.selectFrom('cards').selectAll().execute()).toHaveLength(0);
  });
});

describe('requests per client', () => {
  it(`lets a burst of ${CLIENT_BURST} through, then refills at the per-minute rate`, () => {
    const limiter = createClientLimiter(60);
    for (let i = 0; i < CLIENT_BURST; i++) expect(limiter.take('1.2.3.4', 0)).toBe(true);
    expect(limiter.take('1.2.3.4', 0)).toBe(false);
    expect(limiter.take('5.6.7.8', 0)).toBe(true);
    expect(limiter.take('1.2.3.4', 999)).toBe(false);
    expect(limiter.take('1.2.3.4', 1000)).toBe(true); // 60/min = one a second
  });

  it('is off when the rate is 0', () => {
    const limiter = createClientLimiter(0);
    for (let i = 0; i < 10 * CLIENT_BURST; i++) expect(limiter.take('1.2.3.4', 0)).toBe(true);
  });

  it('answers 429 RATE_LIMITED to a client over its burst, before touching the token', async () => {
    const vault = await startVault({ tokenizeRatePerMinute: 1 });
    open.push(vault);
    const codes: number[] = [];
    for (let i = 0; i < CLIENT_BURST + 1; i++) {
      codes.push((await postTokens(vault.service, tokenizeBody(await vault.issuer.sign(pivotClaims())))).statusCode);
    }
    expect(codes.slice(0, CLIENT_BURST).every((c) => c === 201)).toBe(true);
    expect(codes[CLIENT_BURST]).toBe(429);
  });
});
