/**
 * Webhooks of the public platforms, in their own Fastify scope whose only body parser keeps the
 * RAW bytes (signatures cover the bytes received; JSON is never re-serialised before checking):
 *
 *   GET  /webhooks/messenger | /webhooks/whatsapp   Meta verify handshake -> hub.challenge (text/plain)
 *   POST /webhooks/messenger | /webhooks/whatsapp   X-Hub-Signature-256 -> 200 EVENT_RECEIVED
 *   POST /webhooks/twilio/sms                       X-Twilio-Signature  -> 200 empty TwiML
 *
 * A platform that is not configured answers 404 CHANNEL_NOT_CONFIGURED. A missing signature is
 * 401 WEBHOOK_SIGNATURE_MISSING, a wrong one 403 WEBHOOK_SIGNATURE_INVALID; neither stores
 * anything. A verified delivery is admitted (card numbers masked, parts for another page, number
 * or account dropped: server/channels/redact.ts), stored in the inbox and acknowledged at once;
 * processing happens after (server/channels/service.ts).
 *
 * A correctly signed delivery for ANOTHER page / number / account (an app or business account
 * serving several) is acknowledged with the usual 200 and not stored: the platforms retry a
 * non-2xx answer for hours and then disable the webhook, which would cost the bank its own
 * messages, and a batch may mix the bank's entries with others'. It is logged once, as a warning
 * naming the foreign ids and how many parts were dropped, never their content.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PivotError } from '../../protocol/errors.ts';
import { verifyHandshake } from '../channels/meta.ts';
import { foreignIdsForLog } from '../channels/redact.ts';
import type { ChannelService } from '../channels/service.ts';
import type { PublicChannel } from '../store/channels.ts';

/** Largest webhook body accepted, in bytes (Meta batches up to 1000 updates; real ones are far smaller). */
export const WEBHOOK_MAX_BODY_BYTES = 256 * 1024;

/** The empty TwiML answer: Twilio sends no automatic reply. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

export function webhookRoutes(app: FastifyInstance, channels: ChannelService): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_MAX_BODY_BYTES }, (_request, body, done) => {
      done(null, body);
    });

    const adapterFor = (channel: PublicChannel) => {
      const adapter = channels.adapter(channel);
      if (!adapter) throw new PivotError('CHANNEL_NOT_CONFIGURED');
      return adapter;
    };

    const rawBody = (request: FastifyRequest): Buffer => (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));

    const receive = async (channel: PublicChannel, request: FastifyRequest): Promise<void> => {
      const adapter = adapterFor(channel);
      const raw = rawBody(request);
      adapter.verifySignature(request.headers, raw);
      const received = await channels.receive(channel, raw);
      if (received.foreign.length > 0) {
        const fields = { channel, dropped: received.foreign.length, foreignIds: foreignIdsForLog(received.foreign), inboxId: received.stored?.id ?? null };
        request.log.warn(fields, 'webhook parts for another page, number or account dropped');
      }
      if (received.unreadable !== null) {
        request.log.warn({ channel, inboxId: received.stored?.id, reason: received.unreadable, bytes: raw.length }, 'webhook unreadable: kept as failed, without its body');
      } else if (received.stored) {
        request.log.info({ channel, inboxId: received.stored.id, created: received.stored.created, bytes: raw.length }, 'webhook stored');
      }
    };

    for (const channel of ['messenger', 'whatsapp'] as const) {
      scope.get(`/webhooks/${channel}`, async (request, reply: FastifyReply) => {
        const adapter = adapterFor(channel);
        const challenge = verifyHandshake(adapter.verifyToken ?? '', (request.query ?? {}) as Record<string, unknown>);
        return reply.header('content-type', 'text/plain; charset=utf-8').send(challenge);
      });
      scope.post(`/webhooks/${channel}`, { bodyLimit: WEBHOOK_MAX_BODY_BYTES }, async (request, reply) => {
        await receive(channel, request);
        return reply.header('content-type', 'text/plain; charset=utf-8').send('EVENT_RECEIVED');
      });
    }

    scope.post('/webhooks/twilio/sms', { bodyLimit: WEBHOOK_MAX_BODY_BYTES }, async (request, reply) => {
      await receive('sms', request);
      return reply.header('content-type', 'text/xml; charset=utf-8').send(EMPTY_TWIML);
    });
  });
}
