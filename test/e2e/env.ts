/**
 * Where the e2e servers run. Shared by global-setup and the specs.
 */
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const PORTS = {
  bank: Number(process.env.E2E_BANK_PORT ?? 18080),
  chat: Number(process.env.E2E_CHAT_PORT ?? 18081),
  vault: Number(process.env.E2E_VAULT_PORT ?? 18082),
};
export const ORIGINS = {
  bank: `http://bank.localhost:${PORTS.bank}`,
  chat: `http://chat.localhost:${PORTS.chat}`,
  vault: `http://vault.localhost:${PORTS.vault}`,
};
export const INTERNAL = {
  chat: `http://127.0.0.1:${PORTS.chat}`,
  vault: `http://127.0.0.1:${PORTS.vault}`,
  bank: `http://127.0.0.1:${PORTS.bank}`,
};
export const E2E_DIR = join(ROOT, 'test-results', 'e2e-run');
export const DATA_DIR = join(E2E_DIR, 'data');
export const LOG_DIR = join(E2E_DIR, 'logs');
export const AGENT_PASSWORD = 'e2e-agent-password';
