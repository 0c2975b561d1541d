/**
 * The software authenticator (test/lib/soft-authenticator.ts) produces what
 * `@simplewebauthn/server` accepts — and the library refuses its output when the rpId, origin,
 * UV flag, signature or counter are wrong, so tests built on it refuse for the right reasons.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { SoftAuthenticator } from './soft-authenticator.ts';

const rpId = 'vault.bank.test';
const origin = 'https://vault.bank.test';
const challenge = (): string => randomBytes(32).toString('base64url');

async function registered(auth = new SoftAuthenticator({ rpId, origin })): Promise<{ auth: SoftAuthenticator; credential: WebAuthnCredential }> {
  const c = challenge();
  const response = await auth.register({ challenge: c, rp: { id: rpId }, user: { id: 'dXNlci0x' } });
  const result = await verifyRegistrationResponse({ response, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId, requireUserVerification: true });
  expect(result.verified).toBe(true);
  const info = result.registrationInfo!;
  return { auth, credential: { id: info.credential.id, publicKey: info.credential.publicKey, counter: info.credential.counter } };
}

function verifyAssertion(response: AuthenticationResponseJSON, expectedChallenge: string, credential: WebAuthnCredential, overrides: { origin?: string; rpId?: string } = {}) {
  return verifyAuthenticationResponse({
    response,
    expectedChallenge,
    expectedOrigin: overrides.origin ?? origin,
    expectedRPID: overrides.rpId ?? rpId,
    credential,
    requireUserVerification: true,
  });
}

describe('SoftAuthenticator registration', () => {
  it('verifies with requireUserVerification, attestation none, ES256, counter 0', async () => {
    const auth = new SoftAuthenticator({ rpId, origin });
    const c = challenge();
    const response = await auth.register({ challenge: c });
    expect(response.id).toBe(auth.credentialId);
    const result = await verifyRegistrationResponse({ response, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId, requireUserVerification: true });
    expect(result.verified).toBe(true);
    const info = result.registrationInfo!;
    expect(info.fmt).toBe('none');
    expect(info.credential.id).toBe(auth.credentialId);
    expect(Buffer.from(info.credential.publicKey)).toEqual(Buffer.from(auth.publicKey));
    expect(info.credential.counter).toBe(0);
    expect(info.userVerified).toBe(true);
    expect(info.aaguid).toBe('00000000-0000-0000-0000-000000000000');
    expect(info.origin).toBe(origin);
    expect(info.rpID).toBe(rpId);
    const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'));
    expect(clientData).toEqual({ type: 'webauthn.create', challenge: c, origin, crossOrigin: false });
  });

  it('carries a configured signCount', async () => {
    const auth = new SoftAuthenticator({ rpId, origin });
    const c = challenge();
    const response = await auth.register({ challenge: c, signCount: 41 });
    const result = await verifyRegistrationResponse({ response, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId });
    expect(result.registrationInfo!.credential.counter).toBe(41);
    expect(auth.counter).toBe(41);
  });

  it('is refused without UV when UV is required', async () => {
    const auth = new SoftAuthenticator({ rpId, origin, userVerification: false });
    const c = challenge();
    const response = await auth.register({ challenge: c });
    await expect(verifyRegistrationResponse({ response, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId, requireUserVerification: true })).rejects.toThrow(/user could not be verified/i);
    // ...and accepted when the RP does not require it.
    const ok = await verifyRegistrationResponse({ response, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId, requireUserVerification: false });
    expect(ok.verified).toBe(true);
    expect(ok.registrationInfo!.userVerified).toBe(false);
  });

  it('is refused without UP', async () => {
    const auth = new SoftAuthenticator({ rpId, origin, userPresence: false });
    const c = challenge();
    const response = await auth.register({ challenge: c });
    await expect(verifyRegistrationResponse({ response, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId })).rejects.toThrow(/user was not present/i);
  });

  it('is refused for another origin, rpId or challenge', async () => {
    const auth = new SoftAuthenticator({ rpId, origin });
    const c = challenge();
    const evilOrigin = await auth.register({ challenge: c, origin: 'https://evil.test' });
    await expect(verifyRegistrationResponse({ response: evilOrigin, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId })).rejects.toThrow(/origin/i);
    const evilRp = await auth.register({ challenge: c, rpId: 'evil.test' });
    await expect(verifyRegistrationResponse({ response: evilRp, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId })).rejects.toThrow(/RP ID/i);
    const stale = await auth.register({ challenge: challenge() });
    await expect(verifyRegistrationResponse({ response: stale, expectedChallenge: c, expectedOrigin: origin, expectedRPID: rpId })).rejects.toThrow(/challenge/i);
  });
});

describe('SoftAuthenticator assertion', () => {
  it('verifies with the stored public key, counter incrementing by 1', async () => {
    const { auth, credential } = await registered();
    for (const expected of [1, 2, 3]) {
      const c = challenge();
      const response = await auth.assert({ challenge: c });
      expect(response.id).toBe(credential.id);
      expect(response.response.userHandle).toBe('dXNlci0x');
      const result = await verifyAssertion(response, c, credential);
      expect(result.verified).toBe(true);
      expect(result.authenticationInfo.newCounter).toBe(expected);
      expect(result.authenticationInfo.userVerified).toBe(true);
      credential.counter = result.authenticationInfo.newCounter;
      const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'));
      expect(clientData).toEqual({ type: 'webauthn.get', challenge: c, origin, crossOrigin: false });
    }
  });

  it('is refused without UV when UV is required', async () => {
    const { auth, credential } = await registered();
    const c = challenge();
    const response = await auth.assert({ challenge: c, userVerification: false });
    await expect(verifyAssertion(response, c, credential)).rejects.toThrow(/user could not be verified/i);
  });

  it('is refused for a wrong origin', async () => {
    const { auth, credential } = await registered();
    const c = challenge();
    const response = await auth.assert({ challenge: c, origin: 'https://evil.test' });
    await expect(verifyAssertion(response, c, credential)).rejects.toThrow(/origin/i);
  });

  it('is refused for a wrong rpId', async () => {
    const { auth, credential } = await registered();
    const c = challenge();
    const response = await auth.assert({ challenge: c, rpId: 'evil.test' });
    await expect(verifyAssertion(response, c, credential)).rejects.toThrow(/RP ID/i);
  });

  it('is refused for a wrong challenge', async () => {
    const { auth, credential } = await registered();
    const response = await auth.assert({ challenge: challenge() });
    await expect(verifyAssertion(response, challenge(), credential)).rejects.toThrow(/challenge/i);
  });

  it('is not verified with a tampered signature', async () => {
    const { auth, credential } = await registered();
    const c = challenge();
    const response = await auth.assert({ challenge: c });
    const sig = Buffer.from(response.response.signature, 'base64url');
    sig[sig.length - 1] ^= 0x01;
    const tampered = { ...response, response: { ...response.response, signature: sig.toString('base64url') } };
    // The library reports a bad signature as `verified: false` (no throw).
    const result = await verifyAssertion(tampered, c, credential);
    expect(result.verified).toBe(false);
    // The untampered response from the same call does verify.
    expect((await verifyAssertion(response, c, credential)).verified).toBe(true);
  });

  it('is not verified by another authenticator\'s key (claimed credential id)', async () => {
    const { credential } = await registered();
    const { auth: attacker } = await registered();
    const c = challenge();
    const response = await attacker.assert({ challenge: c, credentialId: credential.id });
    expect(response.id).toBe(credential.id);
    const result = await verifyAssertion(response, c, credential);
    expect(result.verified).toBe(false);
  });

  it('is refused when the counter goes backwards or stalls', async () => {
    const { auth, credential } = await registered();
    const c1 = challenge();
    const first = await verifyAssertion(await auth.assert({ challenge: c1, counter: 10 }), c1, credential);
    expect(first.authenticationInfo.newCounter).toBe(10);
    credential.counter = 10;
    const c2 = challenge();
    await expect(verifyAssertion(await auth.assert({ challenge: c2, counter: 5 }), c2, credential)).rejects.toThrow(/counter/i);
    const c3 = challenge();
    await expect(verifyAssertion(await auth.assert({ challenge: c3, counter: 10 }), c3, credential)).rejects.toThrow(/counter/i);
    // An unforced assertion continues from the last forced value.
    const c4 = challenge();
    const next = await verifyAssertion(await auth.assert({ challenge: c4 }), c4, credential);
    expect(next.authenticationInfo.newCounter).toBe(11);
  });

  it('refuses to assert before registering', async () => {
    await expect(new SoftAuthenticator({ rpId, origin }).assert({ challenge: challenge() })).rejects.toThrow(/before register/);
  });
});
