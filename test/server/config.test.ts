import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChatConfig } from '../../server/config.ts';

describe('loadChatConfig', () => {
  it('uses the documented defaults with an empty environment', () => {
    const config = loadChatConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8081,
      dataDir: resolve('./data'),
      bankOrigin: 'http://bank.localhost:8080',
      chatOrigin: 'http://chat.localhost:8081',
      vaultOrigin: 'http://vault.localhost:8082',
      chatInternalUrl: 'http://127.0.0.1:8081',
      vaultInternalUrl: 'http://127.0.0.1:8082',
      allowedOrigins: ['http://bank.localhost:8080'],
      vaultJwksUrl: 'http://127.0.0.1:8082/.well-known/jwks.json',
      agentPassword: undefined,
      demoMode: false,
      logLevel: 'info',
    });
  });

  it('derives origins from the ports and reads comma lists', () => {
    const config = loadChatConfig({
      BANK_PORT: '3000',
      CHAT_PORT: '3001',
      VAULT_PORT: '3002',
      CHAT_ALLOWED_ORIGINS: 'https://www.bank.example, https://app.bank.example/',
      DEMO_LOGIN: '1',
    });
    expect(config.chatOrigin).toBe('http://chat.localhost:3001');
    expect(config.vaultJwksUrl).toBe('http://127.0.0.1:3002/.well-known/jwks.json');
    expect(config.allowedOrigins).toEqual(['https://www.bank.example', 'https://app.bank.example']);
    // Demo identity assertions are gone: the old switch configures nothing.
    expect(config).not.toHaveProperty('demoLogin');
  });

  it('refuses malformed values instead of guessing', () => {
    expect(() => loadChatConfig({ CHAT_PORT: 'eighty' })).toThrow(/CHAT_PORT/);
    expect(() => loadChatConfig({ CHAT_ALLOWED_ORIGINS: 'bank.example' })).toThrow(/CHAT_ALLOWED_ORIGINS/);
    expect(() => loadChatConfig({ CHAT_ORIGIN: 'ftp://chat.example' })).toThrow(/CHAT_ORIGIN/);
  });
});
