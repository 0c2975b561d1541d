// Baseline: what any vault frame needs at least: jose verify with a remote JWKS, and Comlink expose.
import { expose } from 'comlink';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const jwks = createRemoteJWKSet(new URL('/jwks', location.origin));
expose({
  async verify(token: string) {
    const { payload } = await jwtVerify(token, jwks, { algorithms: ['ES256'] });
    return payload.sub;
  },
});
