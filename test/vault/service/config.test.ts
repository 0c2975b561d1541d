import { describe, expect, it } from 'vitest';
import { loadVaultConfig } from '../../../vault/service/config.ts';

describe('loadVaultConfig', () => {
  it('uses the documented defaults (docs/CONTRACTS.md)', () => {
    const c = loadVaultConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8082,
      origin: 'http://vault.localhost:8082',
      dataDir: './data',
      allowedParentOrigins: ['http://bank.localhost:8080'],
      trustedIssuer: 'http://chat.localhost:8081',
      issuerJwksUrl: 'http://127.0.0.1:8081/.well-known/jwks.json',
      noticeUrl: 'http://127.0.0.1:8081/v1/vault/notices',
      noticeAudience: 'http://chat.localhost:8081',
      logLevel: 'info',
    });
    expect(c.distDir).toMatch(/dist[\\/]vault[\\/]?$/);
  });

  it('reads VAULT_REQUIRE_VISIBILITY_CHECK (off by default) and refuses a value that is not a flag', () => {
    expect(loadVaultConfig({}).requireVisibilityCheck).toBe(false);
    expect(loadVaultConfig({ VAULT_REQUIRE_VISIBILITY_CHECK: 'on' }).requireVisibilityCheck).toBe(true);
    expect(loadVaultConfig({ VAULT_REQUIRE_VISIBILITY_CHECK: '0' }).requireVisibilityCheck).toBe(false);
    expect(() => loadVaultConfig({ VAULT_REQUIRE_VISIBILITY_CHECK: 'sometimes' })).toThrow(/VAULT_REQUIRE_VISIBILITY_CHECK/);
  });

  it('reads VAULT_PASSKEY_REQUIRED_FOR (none by default), and refuses a kind it does not know', () => {
    expect(loadVaultConfig({}).passkeyRequiredFor).toEqual([]);
    expect(loadVaultConfig({ VAULT_PASSKEY_REQUIRED_FOR: 'card_payment, transfer,card_payment' }).passkeyRequiredFor).toEqual(['card_payment', 'transfer']);
    expect(() => loadVaultConfig({ VAULT_PASSKEY_REQUIRED_FOR: 'card_payment,wire' })).toThrow(/VAULT_PASSKEY_REQUIRED_FOR/);
  });

  it('derives defaults from the ports and origins that are set', () => {
    const c = loadVaultConfig({ BANK_PORT: '9000', CHAT_PORT: '9001', VAULT_PORT: '9002', CHAT_INTERNAL_URL: 'http://10.0.0.5:7000/' });
    expect(c.origin).toBe('http://vault.localhost:9002');
    expect(c.allowedParentOrigins).toEqual(['http://bank.localhost:9000']);
    expect(c.trustedIssuer).toBe('http://chat.localhost:9001');
    expect(c.issuerJwksUrl).toBe('http://10.0.0.5:7000/.well-known/jwks.json');
    expect(c.noticeUrl).toBe('http://10.0.0.5:7000/v1/vault/notices');
  });

  it('reads every variable', () => {
    const c = loadVaultConfig({
      HOST: '0.0.0.0',
      DATA_DIR: '/var/lib/vault',
      VAULT_ORIGIN: 'https://vault.bankpay.example',
      CHAT_ORIGIN: 'https://chat.bank.example',
      VAULT_ALLOWED_PARENT_ORIGINS: 'https://www.bank.example, https://m.bank.example',
      VAULT_TRUSTED_ISSUER: 'https://chat.bank.example',
      VAULT_ISSUER_JWKS_URL: 'http://chat.internal/.well-known/jwks.json',
      VAULT_NOTICE_URL: 'http://chat.internal/v1/vault/notices',
      LOG_LEVEL: 'warn',
    });
    expect(c).toMatchObject({
      host: '0.0.0.0',
      dataDir: '/var/lib/vault',
      origin: 'https://vault.bankpay.example',
      allowedParentOrigins: ['https://www.bank.example', 'https://m.bank.example'],
      noticeAudience: 'https://chat.bank.example',
      logLevel: 'warn',
    });
  });

  it.each([
    [{ VAULT_ALLOWED_PARENT_ORIGINS: '*' }],
    [{ VAULT_ALLOWED_PARENT_ORIGINS: 'https://www.bank.example/path' }],
    [{ VAULT_ALLOWED_PARENT_ORIGINS: 'http://vault.localhost:8082' }],
    [{ VAULT_ORIGIN: 'vault.localhost' }],
    [{ VAULT_TRUSTED_ISSUER: 'javascript:alert(1)' }],
    [{ VAULT_PORT: 'eighty' }],
    [{ VAULT_NOTICE_URL: 'file:///etc/passwd' }],
  ])('refuses %o', (env) => {
    expect(() => loadVaultConfig(env)).toThrow();
  });
});
