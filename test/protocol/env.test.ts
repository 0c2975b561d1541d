/**
 * One set of rules for reading the environment (protocol/env.ts), and the chat server and the
 * vault reading their shared variables the same way with it.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, envReader } from '../../protocol/env.ts';
import { loadChatConfig } from '../../server/config.ts';
import { loadVaultConfig } from '../../vault/service/config.ts';

describe('envReader', () => {
  it('treats blank as unset and trims values', () => {
    const e = envReader({ A: '  ', B: ' x ' });
    expect(e.get('A')).toBeUndefined();
    expect(e.get('B')).toBe('x');
    expect(e.port('A', 8080)).toBe(8080);
  });

  it('reads origins as scheme, host and port only, and refuses one with a path', () => {
    const e = envReader({ O: 'https://www.bank.example/', P: 'https://www.bank.example/app', Q: 'ftp://x.example', L: ' https://a.example , https://a.example,https://b.example ' });
    expect(e.origin('O', '')).toBe('https://www.bank.example');
    expect(() => e.origin('P', '')).toThrow(ConfigError);
    expect(() => e.origin('Q', '')).toThrow(/Q must be an http\(s\) origin/);
    expect(e.origins('L', '')).toEqual(['https://a.example', 'https://b.example']);
    expect(() => envReader({ L: ' , ' }).origins('L', '')).toThrow(/L must be at least one origin/);
  });

  it('reads flags as on/off and refuses a typo instead of reading it as off', () => {
    for (const on of ['on', '1', 'TRUE', 'yes']) expect(envReader({ F: on }).flag('F', false)).toBe(true);
    for (const off of ['off', '0', 'false', 'No']) expect(envReader({ F: off }).flag('F', true)).toBe(false);
    expect(() => envReader({ F: 'of' }).flag('F', false)).toThrow(new ConfigError('F', 'on or off', 'of'));
  });

  it('reads ports and whole numbers in range only', () => {
    expect(envReader({ P: '65535' }).port('P', 1)).toBe(65535);
    for (const bad of ['65536', '-1', '80.5', '8O80', '1e3']) expect(() => envReader({ P: bad }).port('P', 1), bad).toThrow(ConfigError);
    expect(() => envReader({ N: '3' }).wholeNumber('N', 0, 5)).toThrow(/N must be a whole number from 5/);
  });

  it('reads URLs as absolute http(s) and base URLs without trailing slashes', () => {
    const e = envReader({ U: 'http://127.0.0.1:8081//', V: 'file:///etc/passwd' });
    expect(e.baseUrl('U', '')).toBe('http://127.0.0.1:8081');
    expect(() => e.url('V', '')).toThrow(ConfigError);
  });
});

describe('the chat server and the vault read shared variables alike', () => {
  const both = (env: Record<string, string>) => [() => loadChatConfig(env), () => loadVaultConfig(env)];

  it('both refuse an origin with a path (the chat server used to strip it)', () => {
    for (const load of both({ BANK_ORIGIN: 'https://www.bank.example/app' })) expect(load).toThrow(/BANK_ORIGIN must be an http\(s\) origin/);
    for (const load of both({ CHAT_ORIGIN: 'https://chat.bank.example/x' })) expect(load).toThrow(/CHAT_ORIGIN/);
  });

  it('both refuse a port out of range', () => {
    for (const load of both({ BANK_PORT: '70000' })) expect(load).toThrow(/BANK_PORT must be a whole number from 0 to 65535/);
  });

  it('both refuse a mistyped flag (the chat server used to read it as off)', () => {
    expect(() => loadChatConfig({ DEMO_MODE: 'onn' })).toThrow(/DEMO_MODE must be on or off/);
    expect(() => loadVaultConfig({ VAULT_REQUIRE_VISIBILITY_CHECK: 'onn' })).toThrow(/VAULT_REQUIRE_VISIBILITY_CHECK must be on or off/);
  });

  it('both derive the same public origins from the same ports', () => {
    const env = { BANK_PORT: '3000', CHAT_PORT: '3001', VAULT_PORT: '3002' };
    const chat = loadChatConfig(env);
    const vault = loadVaultConfig(env);
    expect(vault.origin).toBe(chat.vaultOrigin);
    expect(vault.allowedParentOrigins).toEqual(chat.allowedOrigins);
    expect(vault.trustedIssuer).toBe(chat.chatOrigin);
  });
});
