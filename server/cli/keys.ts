/**
 * The operator's command for the pivot-token signing keys (`npm run chat:keys -- <command>`),
 * run beside the live chat server, on the same DATA_DIR:
 *
 *   list          key ids, creation dates, which is current, when the others stopped being current
 *   rotate        a new key signs; the previous ones stay in the JWKS until retired
 *   retire <kid>  removes a previous key once no token it signed can still be valid
 *
 * The running server takes the rewritten file within KEY_FILE_CHECK_INTERVAL_MS (keys/pivot-key-ring.ts).
 * Never prints key material.
 *
 * @module
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KEY_FILE_CHECK_INTERVAL_MS, KeyRingRefusal, PivotKeyRing } from '../keys/pivot-key-ring.ts';

export const USAGE = ['usage: npm run chat:keys -- <command>', '  list', '  rotate', '  retire <kid>'].join('\n');

/** Run one command; resolves to the exit code (0 done, 1 refused, 2 usage). */
export async function runChatKeysCommand(args: readonly string[], ctx: { dataDir: string; out: (line: string) => void; now?: () => number }): Promise<number> {
  const [command, kid] = args;
  if (command !== 'list' && command !== 'rotate' && command !== 'retire') {
    ctx.out(USAGE);
    return 2;
  }
  let ring: PivotKeyRing;
  try {
    ring = await PivotKeyRing.open(ctx.dataDir, { create: false, ...(ctx.now ? { now: ctx.now } : {}) });
  } catch (error) {
    ctx.out(`refused: ${error instanceof Error ? error.message : 'no key file'} (start the chat server once, or set DATA_DIR)`);
    return 1;
  }
  try {
    if (command === 'list') {
      for (const k of ring.list()) ctx.out(`${k.kid}  created ${k.createdAt}  ${k.current ? 'current' : `superseded ${k.supersededAt ?? 'unknown'}`}`);
    } else if (command === 'rotate') {
      const key = await ring.rotate();
      ctx.out(`${key.kid} is current; the running server signs with it within ${KEY_FILE_CHECK_INTERVAL_MS / 1000} s`);
    } else {
      if (kid === undefined || kid === '') {
        ctx.out(USAGE);
        return 2;
      }
      await ring.retire(kid);
      ctx.out(`${kid} retired`);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof KeyRingRefusal)) throw error;
    ctx.out(`refused: ${error.message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runChatKeysCommand(process.argv.slice(2), { dataDir: resolve(process.env['DATA_DIR'] ?? './data'), out: (line) => process.stdout.write(`${line}\n`) }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`chat:keys: ${error instanceof Error ? error.message : 'failed'}\n`);
      process.exit(1);
    },
  );
}
