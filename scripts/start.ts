/**
 * Runs the whole demo on embedded defaults: the chat server, the vault service and the demo bank
 * page, each in its own process (as in production, where they are separate services on separate
 * origins). Prints the URLs and stops all three on Ctrl-C.
 *
 * Every variable of docs/CONTRACTS.md is passed through; `DEMO_MODE` defaults to on here.
 * With `LOG_DIR` set, each process's output is also written to `LOG_DIR/<name>.log`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const env = { ...process.env };
env.HOST ??= '127.0.0.1';
env.BANK_PORT ??= '8080';
env.CHAT_PORT ??= '8081';
env.VAULT_PORT ??= '8082';
env.BANK_ORIGIN ??= `http://bank.localhost:${env.BANK_PORT}`;
env.CHAT_ORIGIN ??= `http://chat.localhost:${env.CHAT_PORT}`;
env.VAULT_ORIGIN ??= `http://vault.localhost:${env.VAULT_PORT}`;
env.DATA_DIR ??= join(root, 'data');
// This is the demo: the only place the seeded agent may keep the published password `demo`
// (a chat server started any other way refuses to start without a real AGENT_PASSWORD).
env.DEMO_MODE ??= 'on';
// Public channels: random secrets per start unless set, shared by the chat server and the
// platform doubles; the chat server's platform API bases point at the doubles.
env.PLATFORMS_PORT ??= '8083';
const secret = () => randomBytes(24).toString('base64url');
env.MESSENGER_APP_SECRET ??= secret();
env.MESSENGER_VERIFY_TOKEN ??= secret();
env.MESSENGER_PAGE_TOKEN ??= secret();
// The page the Messenger double writes for (its DEMO_PAGE_ID): deliveries for any other page are dropped.
env.MESSENGER_PAGE_ID ??= '100200300400500';
env.WHATSAPP_APP_SECRET ??= secret();
env.WHATSAPP_VERIFY_TOKEN ??= secret();
env.WHATSAPP_TOKEN ??= secret();
env.WHATSAPP_PHONE_NUMBER_ID ??= '106540352242922';
env.TWILIO_ACCOUNT_SID ??= `AC${randomBytes(16).toString('hex')}`;
env.TWILIO_AUTH_TOKEN ??= randomBytes(16).toString('hex');
env.TWILIO_FROM_NUMBER ??= '+15005550006';
const platformsBase = `http://127.0.0.1:${env.PLATFORMS_PORT}`;
env.MESSENGER_API_BASE ??= `${platformsBase}/v21.0`;
env.WHATSAPP_API_BASE ??= `${platformsBase}/v21.0`;
env.TWILIO_API_BASE ??= platformsBase;

for (const bundle of ['dist/widget/loader.js', 'dist/widget/secure-chat.js', 'dist/console/console.js', 'dist/vault/frame.js']) {
  if (!existsSync(join(root, bundle))) {
    console.error(`missing ${bundle}: run "npm run build" first (npm start does it for you)`);
    process.exit(1);
  }
}

const services = [
  { name: 'chat', entry: 'server/main.ts', port: Number(env.CHAT_PORT) },
  { name: 'vault', entry: 'vault/service/main.ts', port: Number(env.VAULT_PORT) },
  { name: 'bank', entry: 'demo/bank-server.ts', port: Number(env.BANK_PORT) },
  { name: 'platforms', entry: 'demo/platforms/server.ts', port: Number(env.PLATFORMS_PORT) },
];

const children: ChildProcess[] = [];
let stopping = false;

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 1500).unref();
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

if (env.LOG_DIR) mkdirSync(env.LOG_DIR, { recursive: true });

for (const service of services) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, service.entry)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const file = env.LOG_DIR ? createWriteStream(join(env.LOG_DIR, `${service.name}.log`), { flags: 'a' }) : null;
  const relay = (chunk: Buffer, to: NodeJS.WriteStream) => {
    file?.write(chunk);
    if (env.QUIET !== '1') {
      for (const line of chunk.toString('utf8').split('\n')) if (line) to.write(`[${service.name}] ${line}\n`);
    }
  };
  child.stdout?.on('data', (c: Buffer) => relay(c, process.stdout));
  child.stderr?.on('data', (c: Buffer) => relay(c, process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[${service.name}] exited (${signal ?? code}); stopping the others`);
      stop(1);
    }
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect({ host: env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST, port });
    socket.once('connect', () => {
      socket.end();
      ok(true);
    });
    socket.once('error', () => ok(false));
  });
}

const deadline = Date.now() + 60_000;
for (const service of services) {
  while (!(await portOpen(service.port))) {
    if (stopping) process.exit(1);
    if (Date.now() > deadline) {
      console.error(`${service.name} did not start listening on port ${service.port}`);
      stop(1);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

console.log(
  [
    '',
    'Secure Pivot Chat is running (Ctrl-C stops it):',
    `  bank demo page   ${env.BANK_ORIGIN}/`,
    `  agent console    ${env.CHAT_ORIGIN}/console   ${env.AGENT_PASSWORD ? '' : '(sign in as agent / demo)'}`,
    `  vault            ${env.VAULT_ORIGIN}/frame`,
    `  messaging sim.   http://messenger.localhost:${env.PLATFORMS_PORT}/`,
    `  data             ${env.DATA_DIR}`,
    '',
  ].join('\n'),
);
