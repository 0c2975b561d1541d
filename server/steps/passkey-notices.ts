/**
 * The vault's passkey notices (protocol/vault-api.ts), each tied to a step token this server
 * issued, and each accepted once:
 *
 * - `passkey_code`: the customer started adding a passkey inside the vault frame; the code goes
 *   to their messaging app at once and is stored nowhere here (no event, no outbox row, no log
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
  if (claims.event === 'passkey_code') {
    const identity = await ctx.channels.identityFor(claims.cnv);
    try {
      if (!identity) throw new PivotError('CHANNEL_NOT_AVAILABLE');
      await ctx.channels.sendPrivateText(claims.cnv, passkeyCodeText(claims.code));
    } catch (error) {
      // Accepted all the same: a retry of this notice would not reach the phone either, and the
      // customer sees no code and starts again. The agent is told.
      if (!(error instanceof PivotError)) throw error;
      return appendSystemEvent(ctx, claims.cnv, PASSKEY_CODE_NOT_SENT_TEXT);
    }
    return appendSystemEvent(ctx, claims.cnv, PASSKEY_CODE_SENT_TEXT(channelName(identity.channel)));
  }
  const session = await ctx.store.sessions.get(sessionId);
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
  const raised = conversation.acr !== 'bank';
  if (session && session.customerId && session.acr !== 'bank') await ctx.store.sessions.raise(session.id, 'bank', session.customerId, claims.cnv);
  await ctx.service.acrRaised(claims.cnv, 'bank', conversation.customerId, raised, PASSKEY_SIGN_IN_TEXT);
}
