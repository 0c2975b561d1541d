/**
 * A software WebAuthn authenticator for tests: an ES256 (P-256) credential held in memory, driven
 * from Node with no browser. The vault tests use it as the customer's platform authenticator; the
 * attack tests use it as the attacker's own authenticator driven from a non-browser client (so it
 * signs whatever rpId / origin / flags / counter it is told to — that is the point).
 *
 * Outputs are the JSON shapes `@simplewebauthn/server` verifies (`RegistrationResponseJSON`,
 * `AuthenticationResponseJSON`, base64url strings):
 *
 * - registration: attestation "none"; authenticatorData = sha256(rpId) || flags || signCount(4 BE)
 *   || aaguid(16 zero bytes) || credIdLen(2 BE) || credId || COSE_Key (EC2, alg -7, crv 1);
 * - assertion: signature = ECDSA-P256-SHA256, DER, over authenticatorData || sha256(clientDataJSON);
 *   the counter goes up by 1 per assertion unless `counter` forces a value.
 *
 * Test code only: the CBOR encoder below knows just what these two structures need.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

export interface SoftAuthenticatorOptions {
  /** Default RP ID hashed into authenticatorData (overridable per call). */
  readonly rpId: string;
  /** Default origin written into clientDataJSON (overridable per call). */
  readonly origin: string;
  /** UV flag (bit 2). Default true. */
  readonly userVerification?: boolean;
  /** UP flag (bit 0). Default true. */
  readonly userPresence?: boolean;
}

export interface RegisterOptions {
  /** base64url challenge from the RP's creation options. */
  readonly challenge: string;
  /** `PublicKeyCredentialCreationOptionsJSON`-like: `rp.id` is used when `rpId` is absent. */
  readonly rp?: { readonly id?: string };
  /** base64url user handle; returned as `userHandle` by later assertions. */
  readonly user?: { readonly id?: string };
  readonly rpId?: string;
  readonly origin?: string;
  readonly userVerification?: boolean;
  readonly userPresence?: boolean;
  /** signCount in the attested authenticatorData (default 0); later assertions continue from it. */
  readonly signCount?: number;
}

export interface AssertOptions {
  /** base64url challenge from the RP's request options. */
  readonly challenge: string;
  readonly rpId?: string;
  readonly origin?: string;
  readonly userVerification?: boolean;
  readonly userPresence?: boolean;
  /** Forces the signCount of this assertion (e.g. a counter going backwards). The next
   * unforced assertion continues from it + 1. */
  readonly counter?: number;
  /** Credential id put in `id` / `rawId` (default: this authenticator's). The signature is still
   * made with this authenticator's key — e.g. to claim someone else's credential. */
  readonly credentialId?: string;
  /** `userHandle` in the response (default: the `user.id` given at registration, if any);
   * `null` omits it. */
  readonly userHandle?: string | null;
}

export class SoftAuthenticator {
  private readonly defaults: Required<SoftAuthenticatorOptions>;
  private readonly privateKey: KeyObject;
  /** COSE_Key (EC2/ES256) of the credential, CBOR-encoded — what an RP stores as the public key. */
  readonly publicKey: Uint8Array;
  /** The same public key as DER SubjectPublicKeyInfo (`response.publicKey` of a registration). */
  private readonly spki: Buffer;
  private readonly rawCredentialId: Buffer;
  private registered = false;
  private userId: string | undefined;
  private signCount = 0;

  constructor(options: SoftAuthenticatorOptions) {
    this.defaults = { userVerification: true, userPresence: true, ...options };
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.spki = publicKey.export({ format: 'der', type: 'spki' });
    const jwk = publicKey.export({ format: 'jwk' });
    if (!jwk.x || !jwk.y) throw new Error('P-256 public key without x/y');
    this.publicKey = cbor(
      new Map<number, CborValue>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]),
    );
    this.rawCredentialId = randomBytes(32);
  }

  /** base64url credential id (fixed at construction; meaningful to an RP after `register`). */
  get credentialId(): string {
    return this.rawCredentialId.toString('base64url');
  }

  /** Current signature counter (the value of the last registration/assertion). */
  get counter(): number {
    return this.signCount;
  }

  async register(options: RegisterOptions): Promise<RegistrationResponseJSON> {
    const rpId = options.rpId ?? options.rp?.id ?? this.defaults.rpId;
    const origin = options.origin ?? this.defaults.origin;
    this.signCount = options.signCount ?? 0;
    this.userId = options.user?.id;
    this.registered = true;

    const credIdLen = Buffer.alloc(2);
    credIdLen.writeUInt16BE(this.rawCredentialId.length);
    const attestedCredentialData = Buffer.concat([Buffer.alloc(16), credIdLen, this.rawCredentialId, this.publicKey]);
    const authData = this.authenticatorData(rpId, this.flags(options) | FLAG_AT, this.signCount, attestedCredentialData);
    const clientDataJSON = clientData({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false });
    const attestationObject = cbor(
      new Map<string, CborValue>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        authenticatorData: b64url(authData),
        transports: ['internal'],
        publicKeyAlgorithm: -7,
        publicKey: b64url(this.spki),
      },
    };
  }

  async assert(options: AssertOptions): Promise<AuthenticationResponseJSON> {
    if (!this.registered) throw new Error('SoftAuthenticator.assert before register');
    const rpId = options.rpId ?? this.defaults.rpId;
    const origin = options.origin ?? this.defaults.origin;
    const count = options.counter ?? this.signCount + 1;
    this.signCount = count;
    const authData = this.authenticatorData(rpId, this.flags(options), count);
    const clientDataJSON = clientData({ type: 'webauthn.get', challenge: options.challenge, origin, crossOrigin: false });
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    const userHandle = options.userHandle === undefined ? this.userId : (options.userHandle ?? undefined);
    const id = options.credentialId ?? this.credentialId;
    return {
      id,
      rawId: id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle === undefined ? {} : { userHandle }),
      },
    };
  }

  private flags(o: { userVerification?: boolean; userPresence?: boolean }): number {
    const up = o.userPresence ?? this.defaults.userPresence;
    const uv = o.userVerification ?? this.defaults.userVerification;
    return (up ? FLAG_UP : 0) | (uv ? FLAG_UV : 0);
  }

  private authenticatorData(rpId: string, flags: number, count: number, attested?: Buffer): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(count >>> 0);
    return Buffer.concat([sha256(Buffer.from(rpId, 'utf8')), Buffer.from([flags]), counter, ...(attested ? [attested] : [])]);
  }

}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function b64url(data: Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

function clientData(data: { type: string; challenge: string; origin: string; crossOrigin: boolean }): Buffer {
  return Buffer.from(JSON.stringify(data), 'utf8');
}

// --- minimal CBOR (RFC 8949) encoder: unsigned/negative ints, byte/text strings, maps -------------

type CborValue = number | string | Uint8Array | Map<number | string, CborValue>;

function cborHead(major: number, value: number): Buffer {
  const m = major << 5;
  if (value < 24) return Buffer.from([m | value]);
  if (value < 0x100) return Buffer.from([m | 24, value]);
  if (value < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = m | 25;
    b.writeUInt16BE(value, 1);
    return b;
  }
  if (value < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(value, 1);
    return b;
  }
  throw new Error(`CBOR: ${value} too large for this encoder`);
}

function cbor(value: CborValue): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error('CBOR: integers only');
    return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value]);
  const parts: Buffer[] = [cborHead(5, value.size)];
  for (const [k, v] of value) parts.push(cbor(k), cbor(v));
  return Buffer.concat(parts);
}
