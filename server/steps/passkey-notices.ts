/**
 * The vault's passkey notices (protocol/vault-api.ts), each tied to a step token this server
 * issued, and each accepted once:
 *
 * - `passkey_code`: the customer started adding a passkey inside the vault frame; the code goes
 *   to their messaging app (or, for a conversation from the web, by SMS to the phone the bank's
 *   IdP verified) at once and is stored nowhere here (no event, no outbox row, no log
 *   line). The bank's page, which sees the conversation, reads only "A passkey code was sent".
 * - `passkey_enrolled`: the customer holds a passkey from now on; a session verified by a pivot
 *   link may then be given bank-level steps, which the vault accepts only with that passkey.
 *
 * And, for a step's answer, what its `verified` says: a passkey raises the conversation (and the
 * session that asked for the token) to acr `bank`, the "one tap" sign-in after a pivot.
 *
 * @module
 */
import { PivotError } from '../../protocol/errors.ts';
import { PASSKEY_ENROLMENT_TTL_S } from '../../protocol/passkeys.ts';
import type { VaultNoticeClaims } from '../../protocol/vault-api.ts';
import type { ChatContext } from '../context.ts';
import { appendSystemEvent, channelName } from '../channels/pivot-link-codes.ts';
import { PASSKEY_SIGN_IN_TEXT } from '../conversations/chat-service.ts';

type PasskeyNotice = Extract<VaultNoticeClaims, { event: 'passkey_code' | 'passkey_enrolled' }>;

export function isPasskeyNotice(claims: VaultNoticeClaims): claims is PasskeyNotice {
  return claims.event === 'passkey_code' || claims.event === 'passkey_enrolled';
}

/** The message on the customer's phone: the code, what it is for, and where (only) to type it. */
export function passkeyCodeText(code: string): string {
  return (
    `${code} is your code to add a passkey for secure steps in the bank's chat. ` +
    `Type it only in the secure form inside the chat; the bank never asks for it otherwise. ` +
    `It expires in ${Math.round(PASSKEY_ENROLMENT_TTL_S / 60)} minutes. Not you? Ignore this message.`
  );
}

export const PASSKEY_CODE_SENT_TEXT = (channel: string) => `A code to add a passkey was sent on ${channel}`;
export const PASSKEY_CODE_NOT_SENT_TEXT = 'The code to add a passkey could not be sent; the customer may try again';
export const PASSKEY_ADDED_TEXT = 'A passkey was added for secure steps';

/** Applies a passkey notice; returns the seq of the system event it appended. */
export async function applyPasskeyNotice(ctx: ChatContext, claims: PasskeyNotice): Promise<number> {
  const { sessionId } = await ctx.store.steps.acceptPasskeyNotice({
    noticeJti: claims.jti,
    noticeExpiresAt: claims.exp * 1000,
    conversationId: claims.cnv,
    stepId: claims.stp,
    pivotJti: claims.ptj,
  });
  const session = await ctx.store.sessions.get(sessionId);
  if (claims.event === 'passkey_code') {
    // The conversation's messaging app; for a conversation from the web, the phone the bank verified.
    const identity = await ctx.channels.identityFor(claims.cnv);
    const customer = session?.customerId ? await ctx.store.customers.get(session.customerId) : undefined;
    const text = passkeyCodeText(claims.code);
    try {
      if (identity) await ctx.channels.sendPrivateText(claims.cnv, text);
      else if (customer?.phone) await ctx.channels.sendSms(customer.phone, text);
      else throw new PivotError('CHANNEL_NOT_AVAILABLE');
    } catch (error) {
      // Accepted all the same: a retry of this notice would not reach the phone either, and the
      // customer sees no code and starts again. The agent is told.
      if (!(error instanceof PivotError)) throw error;
      return appendSystemEvent(ctx, claims.cnv, PASSKEY_CODE_NOT_SENT_TEXT);
    }
    return appendSystemEvent(ctx, claims.cnv, PASSKEY_CODE_SENT_TEXT(identity ? channelName(identity.channel) : 'SMS'));
  }
  if (session?.customerId) await ctx.store.customers.markPasskey(session.customerId);
  return appendSystemEvent(ctx, claims.cnv, PASSKEY_ADDED_TEXT);
}

/**
 * After a step's answer: a passkey proved the customer, so the conversation and the session that
 * asked for the token are at acr `bank` now (announced like a bank sign-in).
 */
export async function raiseForPasskey(ctx: ChatContext, claims: VaultNoticeClaims): Promise<void> {
  if (isPasskeyNotice(claims) || claims.verified !== 'passkey') return;
  await ctx.store.conversations.markVerifiedByPasskey(claims.cnv);
  const sessionId = await ctx.store.steps.pivotTokenSession(claims.ptj);
  const session = sessionId ? await ctx.store.sessions.get(sessionId) : undefined;
  const conversation = await ctx.store.conversations.get(claims.cnv);
  if (!conversation) return;
  // Announced when the passkey signed a session in (a pivot link's session, or the conversation
  // was below the bank's level): the customer and the agent read "Signed in with a passkey".
  const sessionRaised = session !== undefined && session.customerId !== null && session.acr !== 'bank';
  if (sessionRaised) await ctx.store.sessions.raise(session.id, 'bank', session.customerId!, claims.cnv);
  await ctx.service.acrRaised(claims.cnv, 'bank', conversation.customerId, sessionRaised || conversation.acr !== 'bank', PASSKEY_SIGN_IN_TEXT);
}
