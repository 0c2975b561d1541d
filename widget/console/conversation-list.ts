/**
 * The agents' list of conversations, as the console holds it: pages fetched from
 * `GET /v1/agent/conversations` merged with summaries pushed live on the socket. Either may be
 * the fresher: a page fetched before a push, or after a reconnect that missed pushes. The one
 * with the higher `lastSeq` wins (a tie keeps what is held: nothing changed in between).
 *
 * @module
 */
import type { ConversationSummary } from '../../protocol/chat.ts';

/** Puts `summary` into `list` unless `list` already holds a fresher one. */
export function mergeSummary(list: Map<string, ConversationSummary>, summary: ConversationSummary): void {
  const held = list.get(summary.id);
  if (!held || summary.lastSeq > held.lastSeq || (summary.lastSeq === held.lastSeq && summary.acr !== held.acr && summary.updatedAt > held.updatedAt)) {
    list.set(summary.id, summary);
  }
}
