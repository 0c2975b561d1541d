/**
 * Chat server entry point: reads the environment, listens on HOST:CHAT_PORT, and shuts down
 * cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { createChatServer } from './app.ts';
import { loadChatConfig } from './config.ts';

const config = loadChatConfig();
const { app, close } = await createChatServer(config);
await app.listen({ host: config.host, port: config.port });
app.log.info(
  { chatOrigin: config.chatOrigin, allowedOrigins: config.allowedOrigins },
  'chat server ready',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
