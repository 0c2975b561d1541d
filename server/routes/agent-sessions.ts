/**
 * Agent sign-in and sign-out (Origin: CHAT_ORIGIN only, see http/cors.ts).
 *
 *   POST   /v1/agent/sessions           name + password -> agent session (201)
 *   DELETE /v1/agent/sessions/current * signs that session out (204): the token, its unused
 *                                        tickets and its open sockets stop working at once
 *
 * Sign-in goes through the guard (auth/login-guard.ts): a locked name answers 403 LOGIN_LOCKED
 * and a try that comes too early 429 LOGIN_THROTTLED with Retry-After, both before any password
 * work, and whatever the name; a try that proceeds always runs scrypt (against a dummy hash for
 * an unknown name), so neither answer nor timing tells whether the name exists. Every refused
 * try is one `agent sign-in refused` log line; a wrong password (and the lock it may cause) is
 * also a durable audit row. The password is never logged or stored.
 *
 * @module
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import { AgentLoginRequestSchema } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { accountKey, auditName, beginAttempt, clientKey, settleSuccess } from '../auth/login-guard.ts';
import { verifyPassword } from '../auth/passwords.ts';
import { issueSession, revokeSession, sessionOf } from '../auth/sessions.ts';
import { isoTime } from '../lib/clock.ts';
import type { ChatContext } from '../context.ts';
import { typed } from '../http/validation.ts';
import type { LoginAuditOutcome } from '../store/agent-logins.ts';
import { AGENT_CURRENT_SESSION_PATH, AGENT_SESSIONS_PATH } from '../../protocol/chat-paths.ts';

function retryAfter(reply: FastifyReply, ms: number): number {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  reply.header('retry-after', String(seconds));
  return seconds;
}

interface Refusal {
  readonly outcome: LoginAuditOutcome | 'throttled';
  readonly name: string;
  readonly nameKnown: boolean;
  readonly client: string;
  readonly accountFailures: number;
  readonly clientFailures: number;
  readonly retryAfterS?: number;
}

function logRefusal(log: FastifyBaseLogger, refusal: Refusal): void {
  log.warn({ audit: 'agent_sign_in', ...refusal }, 'agent sign-in refused');
}

/** Sign-in: anyone on the console's origin. */
export function agentSignInRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, clock } = ctx;

  typed(app).post(AGENT_SESSIONS_PATH, { schema: { body: AgentLoginRequestSchema } }, async (request, reply) => {
    const body = request.body;
    const agent = await store.agents.findByName(body.name);
    const keys = { account: accountKey(body.name, agent !== undefined), client: clientKey(request.ip) };
    const now = clock();
    const decision = await store.agentLogins.update(keys, (stored) => beginAttempt(stored, now));
    const seen = { name: auditName(body.name, agent !== undefined), nameKnown: agent !== undefined, client: keys.client };

    if (decision.kind === 'locked') {
      logRefusal(request.log, { outcome: 'locked', ...seen, accountFailures: decision.accountFailures, clientFailures: decision.clientFailures });
      throw new PivotError('LOGIN_LOCKED');
    }
    if (decision.kind === 'throttled') {
      const retryAfterS = retryAfter(reply, decision.retryAfterMs);
      logRefusal(request.log, { outcome: 'throttled', ...seen, accountFailures: decision.accountFailures, clientFailures: decision.clientFailures, retryAfterS });
      throw new PivotError('LOGIN_THROTTLED', `Too many failed sign-ins; try again in ${retryAfterS} s.`);
    }

    // Always scrypt: an unknown name is checked against a dummy hash and costs the same.
    const ok = await verifyPassword(body.password, agent?.passwordHash);
    if (ok && agent) {
      await store.agentLogins.update(keys, settleSuccess);
      const { token, session } = await issueSession(store, clock, {
        role: 'agent',
        acr: 'none',
        customerId: null,
        agentId: agent.id,
        conversationId: null,
      });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ session: token, name: agent.name, expiresAt: isoTime(session.expiresAt) });
    }

    const outcome: LoginAuditOutcome = decision.accountLocked ? 'locked' : 'bad_credentials';
    const counts = { accountFailures: decision.accountFailures, clientFailures: decision.clientFailures };
    await store.agentLogins.audit({ at: now, outcome, ...seen, ...counts });
    const retryAfterS = decision.retryAfterMs > 0 && !decision.accountLocked ? retryAfter(reply, decision.retryAfterMs) : undefined;
    logRefusal(request.log, { outcome, ...seen, ...counts, ...(retryAfterS !== undefined ? { retryAfterS } : {}) });
    throw new PivotError(decision.accountLocked ? 'LOGIN_LOCKED' : 'BAD_CREDENTIALS');
  });
}

/** Sign-out: an agent's session (signed in by server/app.ts). */
export function agentSignOutRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, clock, bus } = ctx;

  app.delete(AGENT_CURRENT_SESSION_PATH, async (request, reply) => {
    const { session } = sessionOf(request);
    await revokeSession(store, bus, clock, session);
    return reply.code(204).header('cache-control', 'no-store').send();
  });
}
