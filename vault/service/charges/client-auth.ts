/**
 * Authentication of the bank's back end at `POST /v1/charges`: a signed client credential, one
 * per request, never a browser session.
 *
 * Configuration (`VAULT_CLIENT_JWKS_FILE`): a JSON file holding a JWKS of the clients' PUBLIC
 * keys. Each key is an EC P-256 key with a unique `kid` and a `client_id` member naming the
 * client it belongs to (a client may have several keys, for rotation). The file is read once at
 * start and checked: private members, other key types or a duplicate `kid` stop the service.
 *
 * The credential: `Authorization: Bearer <JWS>`, ES256, protected header `typ` =
 * `vault-client+jwt` and `kid`; claims `iss` = the client id bound to that `kid`, `aud` =
 * `VAULT_ORIGIN`, `iat`, `exp` (`exp - iat` <= CLIENT_CREDENTIAL_MAX_LIFETIME_S), `jti` (used
 * once: `used_client_jti`). Checks, in order, each refusal with its code:
 *   no `Authorization: Bearer`                                   -> 401 CLIENT_CREDENTIAL_MISSING
 *   not a compact JWS, header with jku/x5u/x5c/jwk/crit, alg not ES256, typ wrong, kid unknown,
 *   signature, aud, iss not the key's client, claims schema, lifetime -> 401 CLIENT_CREDENTIAL_INVALID
 *   `exp` passed or `iat` in the future (30 s skew)              -> 401 CLIENT_CREDENTIAL_EXPIRED
 *   `jti` already used by this client                            -> 409 CLIENT_CREDENTIAL_REPLAYED
 * The response code is coarse on purpose; the precise reason goes to the audit log.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import * as v from 'valibot';
import type { ErrorCode } from '../../../protocol/errors.ts';
import {
  CLIENT_CREDENTIAL_CLOCK_SKEW_S,
  CLIENT_CREDENTIAL_MAX_LIFETIME_S,
  ClientCredentialClaimsSchema,
  VAULT_CLIENT_ALGS,
  VAULT_CLIENT_TYP,
} from '../../../protocol/vault-api.ts';

/** Longest `Authorization` credential read, in characters. */
export const CLIENT_CREDENTIAL_MAX_CHARS = 4096;
/** Most client keys the JWKS file may hold. */
export const CLIENT_JWKS_MAX_KEYS = 100;

const CLIENT_ID = v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/));

/** One key of the client JWKS file: public EC P-256 only, bound to a client id. */
const ClientJwkSchema = v.strictObject({
  kty: v.literal('EC'),
  crv: v.literal('P-256'),
  x: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
  y: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
  kid: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._:-]{1,128}$/)),
  client_id: CLIENT_ID,
  alg: v.optional(v.literal('ES256')),
  use: v.optional(v.literal('sig')),
});

export const ClientJwksFileSchema = v.strictObject({
  keys: v.pipe(v.array(ClientJwkSchema), v.minLength(1), v.maxLength(CLIENT_JWKS_MAX_KEYS)),
});

interface ClientKey {
  readonly clientId: string;
  readonly key: CryptoKey;
}

/** The configured clients' keys, by `kid`. */
export interface ClientKeys {
  get(kid: string): ClientKey | undefined;
  readonly size: number;
}

/** Read and check the JWKS file; throws (stopping the service) when it is not acceptable. */
export async function loadClientKeys(file: string): Promise<ClientKeys> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new Error('VAULT_CLIENT_JWKS_FILE: not a readable JSON file');
  }
  const parsed = v.safeParse(ClientJwksFileSchema, json);
  if (!parsed.success) throw new Error('VAULT_CLIENT_JWKS_FILE: each key must be a public EC P-256 JWK with kid and client_id (no private members)');
  const keys = new Map<string, ClientKey>();
  for (const jwk of parsed.output.keys) {
    if (keys.has(jwk.kid)) throw new Error(`VAULT_CLIENT_JWKS_FILE: duplicate kid ${jwk.kid}`);
    const key = (await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } satisfies JWK, 'ES256')) as CryptoKey;
    keys.set(jwk.kid, { clientId: jwk.client_id, key });
  }
  return { get: (kid) => keys.get(kid), size: keys.size };
}

/** A refusal: the code answered, and the reason and claimed client for the audit log. */
export class ClientCredentialError extends Error {
  override name = 'ClientCredentialError';
  readonly code: Extract<ErrorCode, `CLIENT_CREDENTIAL_${string}`>;
  readonly reason: string;
  /** The `iss` the credential claimed, when it had a readable one (unverified). */
  readonly claimedClient: string | undefined;

  constructor(code: Extract<ErrorCode, `CLIENT_CREDENTIAL_${string}`>, reason: string, claimedClient?: string) {
    super(code);
    this.code = code;
    this.reason = reason;
    this.claimedClient = claimedClient;
  }
}

export interface VerifiedClient {
  readonly clientId: string;
  readonly jti: string;
  readonly exp: number;
}

export interface ClientAuthOptions {
  readonly keys: ClientKeys;
  /** `VAULT_ORIGIN`: the required `aud`. */
  readonly audience: string;
  readonly now: Date;
}

const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'x5c', 'jwk', 'crit'] as const;

function claimedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' && v.is(CLIENT_ID, iss) ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verify the `Authorization` header value (not the jti: the caller consumes it). Throws
 * {@link ClientCredentialError}.
 */
export async function verifyClientCredential(authorization: string | undefined, options: ClientAuthOptions): Promise<VerifiedClient> {
  const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization ?? '');
  if (!authorization) throw new ClientCredentialError('CLIENT_CREDENTIAL_MISSING', 'no_authorization');
  if (!match || authorization.length > CLIENT_CREDENTIAL_MAX_CHARS) throw new ClientCredentialError('CLIENT_CREDENTIAL_INVALID', 'not_bearer_jws');
  const token = match[1]!;
  const claimed = claimedIssuer(token);
  const invalid = (reason: string) => new ClientCredentialError('CLIENT_CREDENTIAL_INVALID', reason, claimed);

  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    if (token.split('.').length !== 3) throw new Error();
    header = decodeProtectedHeader(token);
  } catch {
    throw invalid('malformed');
  }
  if (FORBIDDEN_HEADER_PARAMS.some((p) => p in header)) throw invalid('header_param');
  if (!(VAULT_CLIENT_ALGS as readonly unknown[]).includes(header.alg)) throw invalid('alg');
  if (header.typ !== VAULT_CLIENT_TYP) throw invalid('typ');
  const client = typeof header.kid === 'string' ? options.keys.get(header.kid) : undefined;
  if (!client) throw invalid('kid_unknown');

  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, client.key, {
      algorithms: [...VAULT_CLIENT_ALGS],
      typ: VAULT_CLIENT_TYP,
      audience: options.audience,
      issuer: client.clientId,
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti'],
      currentDate: options.now,
      clockTolerance: CLIENT_CREDENTIAL_CLOCK_SKEW_S,
      maxTokenAge: CLIENT_CREDENTIAL_MAX_LIFETIME_S + CLIENT_CREDENTIAL_CLOCK_SKEW_S,
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new ClientCredentialError('CLIENT_CREDENTIAL_EXPIRED', 'expired', claimed);
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      if (error.claim === 'iat') throw new ClientCredentialError('CLIENT_CREDENTIAL_EXPIRED', 'iat', claimed);
      throw invalid(`claim_${error.claim}`);
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw invalid('signature');
    throw invalid('malformed');
  }
  const parsed = v.safeParse(ClientCredentialClaimsSchema, payload);
  if (!parsed.success) throw invalid('claims');
  const { iat, exp, jti } = parsed.output;
  if (exp - iat > CLIENT_CREDENTIAL_MAX_LIFETIME_S) throw invalid('lifetime');
  return { clientId: client.clientId, jti, exp };
}
