/**
 * Baseline for the "agent asks -> card fields interactive" benchmark: the cost of loading an
 * empty cross-site iframe in the same browser. One process, two ports:
 *
 *   HOST_PORT   (browsed as http://bank.localhost:HOST_PORT)   GET /       an empty host page
 *   FRAME_PORT  (browsed as http://vault.localhost:FRAME_PORT) GET /empty  one labelled input
 *
 * Both answers are `no-store` (as the vault's are), so every run loads the frame from the network.
 * Prints `empty-iframe listening` when both ports listen.
 */
import { createServer, type ServerResponse } from 'node:http';

const host = process.env.HOST ?? '127.0.0.1';
const hostPort = Number(process.env.HOST_PORT);
const framePort = Number(process.env.FRAME_PORT);
if (!hostPort || !framePort) throw new Error('empty-iframe-server: HOST_PORT and FRAME_PORT are required');

const HOST_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Baseline host</title></head><body><main id="host"></main></body></html>';
const FRAME_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Empty frame</title></head>' +
  '<body><label for="n">Card number</label> <input id="n" autocomplete="cc-number" inputmode="numeric"></body></html>';

function html(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

const hostServer = createServer((req, res) => (req.url === '/' ? html(res, HOST_PAGE) : res.writeHead(404).end()));
const frameServer = createServer((req, res) => (req.url === '/empty' ? html(res, FRAME_PAGE) : res.writeHead(404).end()));

let listening = 0;
const ready = () => {
  if (++listening === 2) process.stdout.write('empty-iframe listening\n');
};
hostServer.listen(hostPort, host, ready);
frameServer.listen(framePort, host, ready);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    hostServer.closeAllConnections();
    frameServer.closeAllConnections();
    process.exit(0);
  });
}
