/**
 * Where the e2e servers run. Shared by global-setup and the specs.
 */
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const PORTS = {
  bank: Number(process.env.E2E_BANK_PORT ?? 18080),
  chat: Number(process.env.E2E_CHAT_PORT ?? 18081),
  vault: Number(process.env.E2E_VAULT_PORT ?? 18082),
  platforms: Number(process.env.E2E_PLATFORMS_PORT ?? 18083),
};
export const ORIGINS = {
  bank: `http://bank.localhost:${PORTS.bank}`,
  chat: `http://chat.localhost:${PORTS.chat}`,
  vault: `http://vault.localhost:${PORTS.vault}`,
  /** The messaging platforms' local doubles and the messenger simulator page. */
  platforms: `http://messenger.localhost:${PORTS.platforms}`,
};
export const INTERNAL = {
  chat: `http://127.0.0.1:${PORTS.chat}`,
  vault: `http://127.0.0.1:${PORTS.vault}`,
  bank: `http://127.0.0.1:${PORTS.bank}`,
  platforms: `http://127.0.0.1:${PORTS.platforms}`,
};
/** Scratch directory of one run (E2E_DIR overrides it, so two runs on other ports can coexist). */
export const E2E_DIR = process.env.E2E_DIR ? resolve(process.env.E2E_DIR) : join(ROOT, 'test-results', 'e2e-run');
export const DATA_DIR = join(E2E_DIR, 'data');
export const LOG_DIR = join(E2E_DIR, 'logs');
export const AGENT_PASSWORD = 'e2e-agent-password';
