/**
 * One-time pivot links: how a conversation that started on a public channel (Messenger,
 * WhatsApp, SMS) continues on the bank's site.
 *
 * The agent asks for a link; the server draws a code of PIVOT_LINK_CODE_BYTES random bytes,
 * stores only its SHA-256 hash bound to the conversation and its channel identity, and sends
 * `${PIVOT_LINK_BASE_URL}#pivot=<code>` on the channel. The code lives in the fragment, so no
 * request URL, log line or Referer carries it, and a link-preview crawler that fetches the page
 * cannot use it up. The widget on the bank's page reads it, strips it from the address bar and
 * redeems it with a POST: once, before PIVOT_LINK_TTL_S, for that conversation only, at acr
 * `channel` (the customer proved control of the channel account, not a bank login).
 *
 * @module
 */
import * as v from 'valibot';
import {
  PIVOT_LINK_CODE_BYTES,
  PIVOT_LINK_FRAGMENT_PARAM,
  PIVOT_LINK_TTL_S,
  PivotLinkCodeSchema,
  type PivotLinkCreated,
} from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { CHANNEL_LABELS } from '../../protocol/platforms.ts';
import { randomBytes } from 'node:crypto';
import { issueSession, type IssuedSession } from '../auth/sessions.ts';
import { isoTime } from '../lib/clock.ts';
import type { ChatContext } from '../context.ts';
import { hashToken } from '../lib/ids.ts';
import { conversationTopic } from '../lib/pubsub.ts';
import type { PublicChannel } from '../store/channels.ts';

/** Caption of the link's button. */
export const PIVOT_LINK_TITLE = 'Continue securely';
/** Text sent with the link's button. */
export const PIVOT_LINK_TEXT = 'Continue on our secure site: tap the button.';
/** System event once the customer opened the link on the bank's site. */
export const PIVOT_LINK_REDEEMED_TEXT = "Customer continued on the bank's site";

/** "Messenger", "WhatsApp", "SMS": a public channel as the system events name it (protocol/platforms.ts). */
export function channelName(channel: PublicChannel): string {
  return CHANNEL_LABELS[channel];
}

/** System event once a link was sent: "Secure link sent on Messenger (valid 15 minutes)". */
export function pivotLinkSentText(channel: PublicChannel): string {
  return `Secure link sent on ${channelName(channel)} (valid ${Math.round(PIVOT_LINK_TTL_S / 60)} minutes)`;
}

/** The link a customer receives: the code only in the fragment. */
export function pivotLinkUrl(baseUrl: string, code: string): string {
  const url = new URL(baseUrl);
  url.hash = `${PIVOT_LINK_FRAGMENT_PARAM}=${code}`;
  return url.href;
}

/** Appends a `system` event and publishes it to the conversation and the agents. */
export async function appendSystemEvent(ctx: ChatContext, conversationId: string, text: string): Promise<number> {
  const { event } = await ctx.store.events.append(conversationId, { kind: 'system', text });
  ctx.bus.publish(conversationTopic(conversationId), { type: 'event', event });
  await ctx.service.publishSummary(conversationId);
  return event.seq;
}

/**
 * Creates a link for the conversation, revoking its older unused ones, and sends it on the
 * conversation's channel. If the send fails the link is deleted and the channel's error thrown.
 */
export async function createPivotLink(ctx: ChatContext, conversationId: string): Promise<PivotLinkCreated> {
  const identity = await ctx.channels.identityFor(conversationId);
  if (!identity) throw new PivotError('CHANNEL_NOT_AVAILABLE');
  const code = randomBytes(PIVOT_LINK_CODE_BYTES).toString('base64url');
  const codeHash = hashToken(code);
  const expiresAt = ctx.clock() + PIVOT_LINK_TTL_S * 1000;
  await ctx.store.pivotLinks.create({
    codeHash,
    conversationId,
    customerId: identity.customerId,
    channel: identity.channel,
    channelIdentityId: identity.id,
    expiresAt,
  });
  try {
    await ctx.channels.sendLink(conversationId, {
      url: pivotLinkUrl(ctx.config.pivotLinkBaseUrl, code),
      title: PIVOT_LINK_TITLE,
      text: PIVOT_LINK_TEXT,
    });
  } catch (err) {
    await ctx.store.pivotLinks.delete(codeHash);
    if (err instanceof PivotError) throw err;
    throw new PivotError('CHANNEL_SEND_FAILED', undefined, { cause: err });
  }
  const seq = await appendSystemEvent(ctx, conversationId, pivotLinkSentText(identity.channel));
  return { channel: identity.channel, expiresAt: isoTime(expiresAt), seq };
}

/**
 * Redeems a code: shape first (no lookup for a malformed code), then unknown/revoked ->
 * PIVOT_LINK_INVALID, expired -> PIVOT_LINK_EXPIRED, used -> PIVOT_LINK_USED; the consumption
 * itself is one conditional UPDATE, so concurrent redeems yield exactly one session.
 */
export async function redeemPivotLink(ctx: ChatContext, code: string): Promise<IssuedSession & { conversationId: string }> {
  if (!v.is(PivotLinkCodeSchema, code)) throw new PivotError('PIVOT_LINK_INVALID');
  const codeHash = hashToken(code);
  const link = await ctx.store.pivotLinks.find(codeHash);
  if (!link || link.revokedAt !== null) throw new PivotError('PIVOT_LINK_INVALID');
  const now = ctx.clock();
  if (link.expiresAt <= now) throw new PivotError('PIVOT_LINK_EXPIRED');
  if (link.usedAt !== null) throw new PivotError('PIVOT_LINK_USED');
  const conversation = await ctx.store.conversations.get(link.conversationId);
  if (!conversation) throw new PivotError('PIVOT_LINK_INVALID');
  if (!(await ctx.store.pivotLinks.consume(codeHash, now))) {
    // Lost a race (or the link changed between the read and the update): say what it is now.
    const after = await ctx.store.pivotLinks.find(codeHash);
    throw new PivotError(after && after.expiresAt <= now ? 'PIVOT_LINK_EXPIRED' : after?.usedAt != null ? 'PIVOT_LINK_USED' : 'PIVOT_LINK_INVALID');
  }
  // The conversation's owner: the channel identity's customer, or the bank customer it was linked to.
  const customerId = conversation.customerId;
  const issued = await issueSession(ctx.store, ctx.clock, {
    role: 'customer',
    acr: 'channel',
    customerId,
    agentId: null,
    conversationId: conversation.id,
  });
  await ctx.service.acrRaised(conversation.id, 'channel', customerId, false);
  await appendSystemEvent(ctx, conversation.id, PIVOT_LINK_REDEEMED_TEXT);
  return { ...issued, conversationId: conversation.id };
}
