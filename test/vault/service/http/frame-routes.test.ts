import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { DEFAULT_TUNING } from '../../../../vault/service/config.ts';
import { securityHeaders } from '../../../../vault/service/http/headers.ts';
import { FRAME_CONFIG_ELEMENT_ID, FrameConfigSchema } from '../../../../vault/shared/frame-config.ts';
import { BANK_ORIGIN, CHAT_ORIGIN, OTHER_BANK_ORIGIN, VAULT_ORIGIN, createIssuer, logCapture, startVault, tempDir, type VaultFixture } from '../../helpers.ts';

const FRAME_JS = '(function(){document.title="frame"})();\n';
const FRAME_CSS = 'body{margin:0}\n';
const dist = tempDir('vault-dist-');
let vault: VaultFixture;

beforeAll(async () => {
  mkdirSync(dist.path, { recursive: true });
  writeFileSync(join(dist.path, 'frame.js'), FRAME_JS);
  writeFileSync(join(dist.path, 'frame.css'), FRAME_CSS);
  writeFileSync(join(dist.path, 'notes.txt'), 'not served');
  vault = await startVault({ distDir: dist.path, allowedParentOrigins: [BANK_ORIGIN, OTHER_BANK_ORIGIN] });
});
afterAll(async () => {
  await vault.close();
  dist.remove();
});

const sha384 = (s: string) => `sha384-${createHash('sha384').update(s).digest('base64')}`;

describe('security headers', () => {
  it('sends the strict CSP with frame-ancestors listing the configured origins on /frame', async () => {
    const res = await vault.service.app.inject({ method: 'GET', url: '/frame' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
        `frame-ancestors ${BANK_ORIGIN} ${OTHER_BANK_ORIGIN}; form-action 'none'; base-uri 'none'; ` +
        "require-trusted-types-for 'script'; trusted-types 'none'",
    );
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(String(res.headers['permissions-policy'])).toMatch(/^payment=\(self\), camera=\(\), microphone=\(\), geolocation=\(\), usb=\(\)/);
    expect(res.headers['x-frame-options']).toBeUndefined();
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('sends them on every response: assets, JSON, errors and 404s', async () => {
    for (const [method, url] of [
      ['GET', '/frame/assets/frame.js'],
      ['GET', '/.well-known/jwks.json'],
      ['GET', '/nowhere'],
      ['POST', '/v1/tokens'],
    ] as const) {
      const res = await vault.service.app.inject({ method, url });
      expect(res.headers['content-security-policy'], url).toContain('frame-ancestors');
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['cross-origin-resource-policy'], url).toBe('same-origin');
      expect(res.headers['x-frame-options'], url).toBeUndefined();
    }
  });

  it('adds HSTS only when the vault origin is https', () => {
    expect(securityHeaders('https://vault.bankpay.example', [BANK_ORIGIN])['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(securityHeaders(VAULT_ORIGIN, [BANK_ORIGIN])['strict-transport-security']).toBeUndefined();
  });
});

describe('GET /frame', () => {
  it('references frame.js and the stylesheet with sha384 integrity, and no inline script or style', async () => {
    const html = (await vault.service.app.inject({ method: 'GET', url: '/frame' })).body;
    expect(html).toContain(`<script src="/frame/assets/frame.js" integrity="${sha384(FRAME_JS)}" defer></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="/frame/assets/frame.css" integrity="${sha384(FRAME_CSS)}">`);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    for (const attrs of scripts) expect(attrs).toMatch(/src=|type="application\/json"/);
  });

  it('embeds the config as non-executable JSON that the frame schema accepts', async () => {
    const html = (await vault.service.app.inject({ method: 'GET', url: '/frame' })).body;
    const m = new RegExp(`<script type="application/json" id="${FRAME_CONFIG_ELEMENT_ID}">([^<]*)</script>`).exec(html);
    expect(m).not.toBeNull();
    const config = v.parse(FrameConfigSchema, JSON.parse(m![1]!));
    expect(config).toEqual({ version: 1, allowedParentOrigins: [BANK_ORIGIN, OTHER_BANK_ORIGIN], issuer: CHAT_ORIGIN, audience: VAULT_ORIGIN });
  });

  it('tells the frame to refuse answers without IntersectionObserver v2 only when the bank asks (VAULT_REQUIRE_VISIBILITY_CHECK)', async () => {
    const strict = await startVault({ distDir: dist.path, requireVisibilityCheck: true });
    try {
      const html = (await strict.service.app.inject({ method: 'GET', url: '/frame' })).body;
      const m = new RegExp(`<script type="application/json" id="${FRAME_CONFIG_ELEMENT_ID}">([^<]*)</script>`).exec(html);
      expect(v.parse(FrameConfigSchema, JSON.parse(m![1]!))).toMatchObject({ strictVisibility: true });
    } finally {
      await strict.close();
    }
  });

  it('answers 500 without a page when frame.js was not built', async () => {
    const bare = await startVault();
    try {
      const res = await bare.service.app.inject({ method: 'GET', url: '/frame' });
      expect(res.statusCode).toBe(500);
      expect(res.json().error.code).toBe('INTERNAL_ERROR');
    } finally {
      await bare.close();
    }
  });
});

describe('GET /frame/assets/:file', () => {
  it('serves the built files with their types', async () => {
    const js = await vault.service.app.inject({ method: 'GET', url: '/frame/assets/frame.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe(FRAME_JS);
    const css = await vault.service.app.inject({ method: 'GET', url: '/frame/assets/frame.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it.each(['notes.txt', '..%2Fvault-keys.json', '..%2F..%2Fpackage.json', '%2Fetc%2Fpasswd', 'frame.js%00.css', 'vault.db'])('refuses %s (404)', async (file) => {
    const res = await vault.service.app.inject({ method: 'GET', url: `/frame/assets/${file}` });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('refuses a dot-dot path', async () => {
    const res = await vault.service.app.inject({ method: 'GET', url: '/frame/assets/../../vault-keys.json' });
    expect(res.statusCode).toBe(404);
  });
});

describe('key sets', () => {
  it('relays the trusted issuer JWKS at /v1/issuer-jwks, public members only', async () => {
    const res = await vault.service.app.inject({ method: 'GET', url: '/v1/issuer-jwks' });
    expect(res.statusCode).toBe(200);
    const { keys } = res.json() as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kid: vault.issuer.kid, kty: 'EC', crv: 'P-256' });
    expect(keys[0]!.d).toBeUndefined();
  });

  it('passes on a key the issuer rotated in once the cooldown has passed (the frame cannot name the kid it misses)', async () => {
    // The vault's clock, moved by the test: "within the cooldown" cannot run out on a slow machine.
    let offsetMs = 0;
    const cooldownMs = DEFAULT_TUNING.issuerJwksCooldownMs;
    const local = await startVault({ tuning: { issuerJwksCooldownMs: cooldownMs }, deps: { logStream: logCapture().stream, clock: () => Date.now() + offsetMs } });
    try {
      const kids = async () =>
        ((await local.service.app.inject({ method: 'GET', url: '/v1/issuer-jwks' })).json() as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      expect(await kids()).toEqual([local.issuer.kid]);
      const next = await createIssuer('chat-key-2');
      local.issuer.jwks.keys.unshift(next.jwks.keys[0]!);
      // Within the cooldown the cached set is served: the upstream is not hammered.
      expect(await kids()).toEqual([local.issuer.kid]);
      offsetMs += cooldownMs;
      expect(await kids()).toEqual(['chat-key-2', local.issuer.kid]);
    } finally {
      await local.close();
    }
  });

  it('answers 502 JWKS_UNAVAILABLE when the issuer JWKS cannot be fetched', async () => {
    const dead = await startVault({ issuerJwksUrl: 'http://127.0.0.1:9/jwks' });
    try {
      const res = await dead.service.app.inject({ method: 'GET', url: '/v1/issuer-jwks' });
      expect(res.statusCode).toBe(502);
      expect(res.json().error.code).toBe('JWKS_UNAVAILABLE');
    } finally {
      await dead.close();
    }
  });

  it('serves the notice-signing public key at /.well-known/jwks.json', async () => {
    const res = await vault.service.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    const { keys } = res.json() as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.stringMatching(/^nk_/) });
    expect(keys[0]!.d).toBeUndefined();
  });
});
