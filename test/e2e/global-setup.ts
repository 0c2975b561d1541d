/**
 * Starts the three real services (scripts/start.ts) on the e2e ports with a fresh data directory,
 * logs captured to files so that the leak checks can read them. Returns the teardown.
 */
import { spawn } from 'node:child_process';
import { rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_PASSWORD, DATA_DIR, E2E_DIR, LOG_DIR, ORIGINS, PORTS, ROOT } from './env.ts';

export default async function globalSetup(): Promise<() => Promise<void>> {
  rmSync(E2E_DIR, { recursive: true, force: true });
  mkdirSync(LOG_DIR, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      BANK_PORT: String(PORTS.bank),
      CHAT_PORT: String(PORTS.chat),
      VAULT_PORT: String(PORTS.vault),
      PLATFORMS_PORT: String(PORTS.platforms),
      BANK_ORIGIN: ORIGINS.bank,
      CHAT_ORIGIN: ORIGINS.chat,
      VAULT_ORIGIN: ORIGINS.vault,
      DATA_DIR,
      LOG_DIR,
      QUIET: '1',
      AGENT_PASSWORD,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`services did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Secure Pivot Chat is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`services exited with ${code}:\n${output}`));
    });
  });
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
}
