/**
 * The leak scans' matcher (test/secret-scan.ts): it must find every way a leak would spell a short
 * secret, and never a chance occurrence inside a longer number, id or hash.
 */
import { describe, expect, it } from 'vitest';
import { JWT_PATTERN, STANDALONE_BELOW_DIGITS, containsSecret, secretsIn } from '../secret-scan.ts';

const CVC = '9183';

describe('secret scan', () => {
  it('finds a short number wherever a leak would write it', () => {
    for (const text of ['{"cvc":"9183"}', '{"note":"cvc 9183"}', 'cvc=9183&x=1', 'CVC 9183.', 'code [9183]', '9183', 'cvc:9183\n', "'9183'", '(9183)']) {
      expect(containsSecret(text, CVC), text).toBe(true);
    }
  });

  it('does not find it inside a timestamp, an id, a hash, a decimal, base64 or as a JSON number', () => {
    for (const text of [
      '{"inboxId":3,"bytes":9183}',
      '{"level":30,"time":1796288939183,"msg":"x"}',
      '"reqId":"req-9183"',
      'sha256:0fab9183cd',
      '"responseTime":12.9183',
      '"responseTime":9183.25',
      'AbC+9183/xyz',
      'tok_9183',
      'c2VjcmV0/9183=',
      '2026-12-03T09:07:37.9183Z',
    ]) {
      expect(containsSecret(text, CVC), text).toBe(false);
    }
  });

  it(`matches digit-only secrets of ${STANDALONE_BELOW_DIGITS} digits or more, and any other secret, as plain text`, () => {
    expect(STANDALONE_BELOW_DIGITS).toBe(8);
    expect(containsSecret('x4242424242424242y', '4242424242424242')).toBe(true);
    expect(containsSecret('a12345678b', '12345678')).toBe(true); // at the limit: plain text
    expect(containsSecret('a1234567b', '1234567')).toBe(false); // below it: a number of its own
    expect(containsSecret('the "cvc" key', '"cvc"')).toBe(true);
    expect(containsSecret('Rue Jean Jaurès', 'Jean Jaur')).toBe(true);
    expect(containsSecret('a.b+c', 'a.b+c')).toBe(true); // not a pattern
    expect(containsSecret('aXb+c', 'a.b+c')).toBe(false);
  });

  it('finds a JWT where a token can begin, not "eyJ" inside a random id', () => {
    expect('{"token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}').toMatch(JWT_PATTERN);
    expect('authorization: Bearer eyJhbGciOiJFUzI1NiJ9.').toMatch(JWT_PATTERN);
    expect('"card":"tok_Q3eyJx9Zk2", "idem":"ab-eyJ.x"').not.toMatch(JWT_PATTERN);
  });

  it('lists the secrets a text holds', () => {
    expect(secretsIn('{"time":1796288939183,"cvc":"737","name":"Ada"}', ['9183', '737', 'Ada', 'Grace'])).toEqual(['737', 'Ada']);
  });
});
