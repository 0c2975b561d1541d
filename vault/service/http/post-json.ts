/**
 * A small JSON POST over node:http(s) with a keep-alive agent, for the vault's server-to-server
 * notices. (Node 20's global fetch costs several times more CPU per request, and notices are sent
 * all the time under load, batched by notices/outbox.ts.) Redirects are not followed; the response body
 * is capped (a full batch's answer, one result per notice, fits well within it).
 *
 * @module
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Most bytes of a response body read (only error bodies matter: `{error:{code}}`). */
export const POST_RESPONSE_MAX_BYTES = 16 * 1024;
/** Most concurrent sockets to the notice receiver. */
export const POST_MAX_SOCKETS = 16;

export interface PostResult {
  readonly status: number;
  /** Parsed JSON body, or null when absent, too large or not JSON. */
  readonly json: unknown;
}

export type PostJson = (url: string, body: unknown, timeoutMs: number) => Promise<PostResult>;

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: POST_MAX_SOCKETS });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: POST_MAX_SOCKETS });

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export const postJson: PostJson = (url, body, timeoutMs) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const payload = Buffer.from(JSON.stringify(body));
    const https = target.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(
      target,
      {
        method: 'POST',
        agent: https ? httpsAgent : httpAgent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= POST_RESPONSE_MAX_BYTES) chunks.push(chunk);
        });
        res.on('end', () => {
          let json: unknown = null;
          if (size <= POST_RESPONSE_MAX_BYTES && chunks.length > 0) {
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              json = null;
            }
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new TimeoutError('notice delivery timed out')));
    req.on('error', reject);
    req.end(payload);
  });
