/**
 * Builds one chat server instance: store, keys, pub/sub, HTTP routes, WebSocket, static files.
 *
 *   const { app, close } = await createChatServer(loadChatConfig());
 *   await app.listen({ host: config.host, port: config.port });
 *
 * @module
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { ChannelGateway } from './channels/gateway.ts';
import { ChannelService } from './channels/service.ts';
import { ChatService, UNUSED_PIVOT_SWEEP_INTERVAL_MS } from './conversations/chat-service.ts';
import { assertAgentPasswordAllowed, type ChatConfig } from './config.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import type { ChatContext } from './context.ts';
import { originGroup } from './http/cors.ts';
import { installErrorHandlers } from './http/errors.ts';
import { installValidation } from './http/validation.ts';
import { PivotKeyRing } from './keys/pivot-key-ring.ts';
import { loggerOptions, type LoggerDestination } from './lib/logger.ts';
import { createNoticeVerifier } from './steps/vault-notices.ts';
import { MemoryPubSub, type PubSub } from './lib/pubsub.ts';
import { agentRoutes } from './routes/agent.ts';
import { agentSignInRoutes, agentSignOutRoutes } from './routes/agent-sessions.ts';
import { cspReportRoutes } from './routes/csp-reports.ts';
import { jwksRoutes } from './routes/jwks.ts';
import { noticeRoutes } from './routes/notices.ts';
import { pivotTokenRoutes } from './routes/pivot-tokens.ts';
import { agentPivotLinkRoutes, pivotLinkRedeemRoutes } from './routes/pivot-links.ts';
import { customerSessionRoutes, sessionRoutes, wsTicketRoutes } from './routes/sessions.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { consoleFileRoutes, widgetFileRoutes } from './http/static.ts';
import { createSqliteStore } from './store/sqlite-store.ts';
import type { ChatStore } from './store/store.ts';
import { purgeCutoffs } from './auth/login-guard.ts';
import { seedAgent } from './auth/seed-agent.ts';
import { signedIn } from './auth/sessions.ts';
import { installWebSocket } from './ws/route.ts';

/** Largest HTTP request body, in bytes (a notice envelope is at most 8 KiB of JWS). */
export const CHAT_MAX_BODY_BYTES = 16 * 1024;
/** Interval of the sweep that deletes expired tickets, sessions, pivot links, nonces and settled deliveries, in ms. */
export const PURGE_INTERVAL_MS = 10 * 60 * 1000;
/**
 * Sessions, tickets, pivot links and id_token nonces are kept this long past expiry (so expiry
 * reads SESSION_EXPIRED, PIVOT_LINK_EXPIRED), in ms.
 */
export const PURGE_GRACE_MS = 24 * 60 * 60 * 1000;
/**
 * A processed webhook delivery (the raw platform payload: it holds the customer's message) is
 * deleted this long after it was processed, in ms. The message itself lives on as a chat event.
 */
export const CHANNEL_INBOX_PROCESSED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** A delivery that failed is kept longer, for inspection, then deleted, in ms. */
export const CHANNEL_INBOX_FAILED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** The agent seeded on first start, with AGENT_PASSWORD (server/auth/seed-agent.ts). */
export { SEED_AGENT_NAME } from './auth/seed-agent.ts';

export interface ChatServerOptions {
  /** "Now" for tokens, tickets and sessions (tests move it). */
  readonly clock?: Clock;
  /** Where log lines go (default: stdout). */
  readonly logStream?: LoggerDestination;
  /** Another store implementation (default: SQLite in DATA_DIR). */
  readonly store?: ChatStore;
  /** Another pub/sub implementation (default: in-process). */
  readonly pubsub?: PubSub;
  /** Another public-channel gateway for the routes (default: the platform adapters). */
  readonly channels?: ChannelGateway;
  /** How often the pivot key file is looked at for a rotation, in ms (default KEY_FILE_CHECK_INTERVAL_MS). */
  readonly keyCheckIntervalMs?: number;
}

export interface ChatServer {
  readonly app: FastifyInstance;
  readonly context: ChatContext;
  /** One pass of the purge that runs every PURGE_INTERVAL_MS ({@link purgeStale} at the server's "now"). */
  purge(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Deletes what has outlived its use at `now`: sessions, tickets, pivot links and nonces expired
 * (or used) more than PURGE_GRACE_MS ago, processed deliveries after
 * CHANNEL_INBOX_PROCESSED_RETENTION_MS and failed ones after CHANNEL_INBOX_FAILED_RETENTION_MS
 * (pending ones never), agent sign-in counters that no longer delay anyone (locks never) and
 * sign-in audit rows past LOGIN_AUDIT_RETENTION_MS.
 */
export async function purgeStale(store: ChatStore, now: number): Promise<void> {
  const before = now - PURGE_GRACE_MS;
  await store.sessions.purgeExpired(before);
  await store.pivotLinks.purgeExpired(before);
  await store.nonces.purgeExpired(before);
  await store.agentLogins.purge(purgeCutoffs(now));
  await store.channels.purgeDeliveries({
    processedBefore: now - CHANNEL_INBOX_PROCESSED_RETENTION_MS,
    failedBefore: now - CHANNEL_INBOX_FAILED_RETENTION_MS,
  });
}

export async function createChatServer(config: ChatConfig, options: ChatServerOptions = {}): Promise<ChatServer> {
  // Before anything is created: outside the demo, the published demo password must not start a server.
  assertAgentPasswordAllowed(config);
  const clock = options.clock ?? systemClock;
  const app = Fastify({
    logger: loggerOptions(config.logLevel, options.logStream),
    bodyLimit: CHAT_MAX_BODY_BYTES,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Off unless the operator names the proxies (CHAT_TRUST_PROXY): a client cannot pick its own
    // address for the per-client limits with a forged X-Forwarded-For.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
  });

  const store = options.store ?? (await createSqliteStore(config.dataDir, clock));
  const bus = options.pubsub ?? new MemoryPubSub();
  try {
    // On the server's clock, like every other time limit (tests move it instead of sleeping).
    const keys = await PivotKeyRing.open(config.dataDir, {
      now: clock,
      ...(options.keyCheckIntervalMs === undefined ? {} : { checkIntervalMs: options.keyCheckIntervalMs }),
    });
    // A key rotated by the operator's command (`chat:keys`) is taken within the check interval.
    app.addHook('onRequest', async () => keys.refresh());
    await seedAgent(store, config, app.log);
    // The channels relay agent messages (hook of ChatService) and post inbound ones through it.
    let service: ChatService | undefined;
    const channels = new ChannelService({
      config: config.channels,
      store,
      log: app.log,
      clock,
      service: () => {
        if (!service) throw new Error('chat service not built');
        return service;
      },
    });
    service = new ChatService(store, bus, app.log, clock, (event) => channels.relayAgentMessage(event));
    const context: ChatContext = {
      config,
      store,
      bus,
      keys,
      clock,
      service,
      channels: options.channels ?? channels,
      verifyNotice: createNoticeVerifier({
        jwksUrl: config.vaultJwksUrl,
        issuer: config.vaultOrigin,
        audience: config.chatOrigin,
        clock,
      }),
    };

    installErrorHandlers(app);
    installValidation(app);
    installJsonParser(app);
    installSecurityHeaders(app);
    // Route groups, each with its own Origin policy (http/cors.ts); within them, the routes that
    // need a session are signed in (auth/sessions.ts) before their body is read or validated.
    originGroup(app, config, 'customer', (group) => {
      sessionRoutes(group, context);
      pivotLinkRedeemRoutes(group, context);
      signedIn(group, context, 'customer', (customer) => {
        customerSessionRoutes(customer, context);
        pivotTokenRoutes(customer, context);
      });
    });
    originGroup(app, config, 'customer-or-agent', (group) => {
      signedIn(group, context, undefined, (anyone) => wsTicketRoutes(anyone, context));
    });
    originGroup(app, config, 'agent', (group) => {
      agentSignInRoutes(group, context);
      signedIn(group, context, 'agent', (agent) => {
        agentSignOutRoutes(agent, context);
        agentRoutes(agent, context);
        agentPivotLinkRoutes(agent, context);
      });
    });
    originGroup(app, config, 'server-only', (group) => noticeRoutes(group, context));
    originGroup(app, config, 'report', (group) => cspReportRoutes(group, context));
    originGroup(app, config, 'script', (group) => widgetFileRoutes(group, config));
    // No Origin policy: the WebSocket checks Origin per ticket role (ws/route.ts); the JWKS,
    // webhooks and the console page are not called cross-origin by a browser with credentials.
    const ws = await installWebSocket(app, context);
    jwksRoutes(app, context);
    webhookRoutes(app, channels);
    consoleFileRoutes(app, config);

    const purge = setInterval(() => {
      purgeStale(store, clock()).catch((err: unknown) => app.log.warn({ err }, 'purge failed'));
    }, PURGE_INTERVAL_MS);
    purge.unref();
    let sweeping = false;
    const unusedPivotSweep = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      context.service
        .sweepUnusedPivotTokens()
        .catch((err: unknown) => app.log.warn({ err }, 'unused pivot sweep failed'))
        .finally(() => (sweeping = false));
    }, UNUSED_PIVOT_SWEEP_INTERVAL_MS);
    unusedPivotSweep.unref();

    await app.ready();
    channels.start();

    let closing: Promise<void> | undefined;
    return {
      app,
      context,
      purge: () => purgeStale(store, clock()),
      close() {
        closing ??= (async () => {
          clearInterval(purge);
          clearInterval(unusedPivotSweep);
          await channels.stop();
          ws.stop();
          await app.close();
          await bus.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await app.close().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
}

/** JSON only; an empty body is "no body" (so `fetch(url, {method:'POST'})` with a JSON type works). */
function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
