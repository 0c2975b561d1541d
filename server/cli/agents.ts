/**
 * The operator's command for agent sign-in (`npm run chat:agents -- <command>`), run beside the
 * live chat server, on the same DATA_DIR (the counters live in chat.db, so the running server
 * sees a change at the agent's next try):
 *
 *   list                     agents, then every account name and client address locked or made to wait
 *   unlock <name>            lifts an account's lock and delay (an agent's name, or the name as typed)
 *   unlock-client <address>  lifts a client address's delay (as the sign-in log line shows it)
 *   audit [n]                the last n failed sign-ins and unlocks (default AUDIT_DEFAULT_ROWS)
 *
 * Every unlock is written to the audit trail. Never prints a password; names no agent has are
 * shown shortened, as in the logs.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { accountKey, auditName, clientKey } from '../auth/login-guard.ts';
import { isoTime, systemClock, type Clock } from '../lib/clock.ts';
import { CHAT_DB_FILE } from '../db/database.ts';
import type { GuardedKey, LoginAuditEntry } from '../store/agent-logins.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';

/** Audit rows `audit` prints when not told how many. */
export const AUDIT_DEFAULT_ROWS = 20;
/** Most audit rows one `audit` prints. */
export const AUDIT_MAX_ROWS = 1000;

export const USAGE = [
  'usage: npm run chat:agents -- <command>',
  '  list',
  '  unlock <name>',
  '  unlock-client <address>',
  `  audit [n]   (n <= ${AUDIT_MAX_ROWS})`,
].join('\n');

const COMMANDS = new Set(['list', 'unlock', 'unlock-client', 'audit']);

/** Run one command; resolves to the exit code (0 done, 1 refused or nothing to do, 2 usage). */
export async function runChatAgentsCommand(args: readonly string[], ctx: { dataDir: string; out: (line: string) => void; clock?: Clock }): Promise<number> {
  const [command, argument] = args;
  const clock = ctx.clock ?? systemClock;
  if (command === undefined || !COMMANDS.has(command) || ((command === 'unlock' || command === 'unlock-client') && !argument)) {
    ctx.out(USAGE);
    return 2;
  }
  let rows = AUDIT_DEFAULT_ROWS;
  if (command === 'audit' && argument !== undefined) {
    rows = Number(argument);
    if (!Number.isInteger(rows) || rows < 1 || rows > AUDIT_MAX_ROWS) {
      ctx.out(USAGE);
      return 2;
    }
  }
  if (!existsSync(join(ctx.dataDir, CHAT_DB_FILE))) {
    ctx.out(`refused: no ${CHAT_DB_FILE} in ${ctx.dataDir} (start the chat server once, or set DATA_DIR)`);
    return 1;
  }
  const store = await createSqliteStore(ctx.dataDir, clock);
  try {
    const now = clock();
    if (command === 'list') {
      const agents = await store.agents.list();
      ctx.out(`agents (${agents.length}):`);
      for (const agent of agents) ctx.out(`  ${agent.name}`);
      const guarded = await store.agentLogins.listGuarded(now);
      const known = new Set(agents.map((a) => a.name));
      ctx.out(guarded.length === 0 ? 'no account or client is locked or waiting' : 'locked or waiting:');
      for (const g of guarded) ctx.out(`  ${describe(g, known, now)}`);
      return 0;
    }
    if (command === 'audit') {
      for (const entry of await store.agentLogins.listAudit(rows)) ctx.out(auditLine(entry));
      return 0;
    }
    const name = argument!;
    if (command === 'unlock') {
      const agent = await store.agents.findByName(name);
      const cleared = await store.agentLogins.clear('account', accountKey(name, agent !== undefined));
      const shown = auditName(name, agent !== undefined);
      if (!cleared) {
        ctx.out(`${shown}: nothing to unlock`);
        return 1;
      }
      await store.agentLogins.audit({ at: now, outcome: 'unlocked', name: shown, nameKnown: agent !== undefined, client: null, accountFailures: null, clientFailures: null });
      ctx.out(`${shown}: unlocked`);
      return 0;
    }
    const key = name.endsWith('::/64') ? name : clientKey(name);
    if (!(await store.agentLogins.clear('client', key))) {
      ctx.out(`${key}: nothing to unlock`);
      return 1;
    }
    await store.agentLogins.audit({ at: now, outcome: 'unlocked', name: '', nameKnown: false, client: key, accountFailures: null, clientFailures: null });
    ctx.out(`${key}: unlocked`);
    return 0;
  } finally {
    await store.close();
  }
}

function describe(g: GuardedKey, knownNames: ReadonlySet<string>, now: number): string {
  const who = g.scope === 'client' ? `client ${g.key}` : knownNames.has(g.key) ? `agent ${g.key}` : 'a name no agent has (see the audit)';
  const state = g.lockedAt !== null ? `LOCKED since ${isoTime(g.lockedAt)}` : `waits ${Math.ceil((g.nextAttemptAt - now) / 1000)} s`;
  return `${who}  ${state}  ${g.failures} failures, last ${isoTime(g.lastFailureAt)}`;
}

function auditLine(e: LoginAuditEntry): string {
  const who = e.name === '' ? '' : `name ${e.name}${e.nameKnown ? '' : ' (no such agent)'}`;
  const counts = e.accountFailures === null ? '' : `account failures ${e.accountFailures}, client failures ${e.clientFailures ?? 0}`;
  const by = e.outcome === 'unlocked' ? 'by operator' : '';
  return [isoTime(e.at), e.outcome, who, e.client === null ? '' : `client ${e.client}`, by, counts].filter((part) => part !== '').join('  ');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runChatAgentsCommand(process.argv.slice(2), { dataDir: resolve(process.env['DATA_DIR'] ?? './data'), out: (line) => process.stdout.write(`${line}\n`) }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`chat:agents: ${error instanceof Error ? error.message : 'failed'}\n`);
      process.exit(1);
    },
  );
}
