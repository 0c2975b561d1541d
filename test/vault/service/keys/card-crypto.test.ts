import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintPan, openCard, sealCard } from '../../../../vault/service/keys/card-crypto.ts';
import { AMEX, VISA } from '../../helpers.ts';

const key = { kid: 'dk_testkey001', key: randomBytes(32) };

describe('card encryption', () => {
  it('round-trips under the same key and token', () => {
    const sealed = sealCard({ pan: VISA, name: 'Ada Lovelace' }, 'tok_aaaaaaaaaaaaaaaaaaaa', key);
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.tag).toHaveLength(16);
    expect(sealed.keyId).toBe(key.kid);
    expect(sealed.ciphertext.toString('latin1')).not.toContain(VISA);
    expect(openCard(sealed, 'tok_aaaaaaaaaaaaaaaaaaaa', key)).toEqual({ pan: VISA, name: 'Ada Lovelace' });
  });

  it('uses a fresh IV each time', () => {
    const a = sealCard({ pan: VISA }, 'tok_a', key);
    const b = sealCard({ pan: VISA }, 'tok_a', key);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('does not decrypt under another token (AAD), another key, or a flipped bit', () => {
    const sealed = sealCard({ pan: VISA }, 'tok_one', key);
    expect(() => openCard(sealed, 'tok_two', key)).toThrow();
    expect(() => openCard(sealed, 'tok_one', { kid: key.kid, key: randomBytes(32) })).toThrow();
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0] = flipped[0]! ^ 1;
    expect(() => openCard({ ...sealed, ciphertext: flipped }, 'tok_one', key)).toThrow();
  });

  it('fingerprints equal PANs equally, and differently under another key', () => {
    const hmac = { kid: 'hk_testkey001', key: randomBytes(32) };
    expect(fingerprintPan(VISA, hmac)).toBe(fingerprintPan(VISA, hmac));
    expect(fingerprintPan(VISA, hmac)).not.toBe(fingerprintPan(AMEX, hmac));
    expect(fingerprintPan(VISA, hmac)).not.toBe(fingerprintPan(VISA, { kid: 'hk_other0001', key: randomBytes(32) }));
    expect(fingerprintPan(VISA, hmac)).toMatch(/^[0-9a-f]{64}$/);
  });
});
