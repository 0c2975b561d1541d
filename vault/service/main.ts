/**
 * Process entry of the vault service: reads the environment, listens on HOST:VAULT_PORT,
 * prints its public origin, and shuts down cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { createVaultService } from './app.ts';
import { loadVaultConfig } from './config.ts';

const config = loadVaultConfig(process.env);
const service = await createVaultService(config);
const address = await service.app.listen({ host: config.host, port: config.port });
service.app.log.info({ origin: config.origin, address }, 'vault listening');
process.stdout.write(`vault: ${config.origin} (listening on ${address})\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
