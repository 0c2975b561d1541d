/**
 * The console's list merges fetched pages with summaries pushed live: the fresher one stays,
 * whichever arrived last (widget/console/conversation-list.ts).
 */
import { describe, expect, it } from 'vitest';
import type { ConversationSummary } from '../../../protocol/chat.ts';
import { mergeSummary } from '../../../widget/console/conversation-list.ts';

const summary = (lastSeq: number, patch: Partial<ConversationSummary> = {}): ConversationSummary => ({
  id: 'cnv_0123456789abcdef',
  customerName: 'Ada',
  acr: 'none',
  channel: 'web',
  lastSeq,
  lastText: `message ${lastSeq}`,
  updatedAt: new Date(Date.UTC(2030, 0, 1, 0, 0, lastSeq)).toISOString(),
  ...patch,
});

describe('mergeSummary', () => {
  it('keeps a pushed summary over an older page, and takes a page newer than what was pushed', () => {
    const list = new Map<string, ConversationSummary>();
    mergeSummary(list, summary(5)); // pushed live
    mergeSummary(list, summary(3)); // a page fetched before that push
    expect(list.get(summary(0).id)?.lastSeq).toBe(5);
    mergeSummary(list, summary(8)); // a page fetched after a reconnect that missed pushes
    expect(list.get(summary(0).id)?.lastText).toBe('message 8');
  });

  it('takes a raised assurance level reported later with the same last message', () => {
    const list = new Map<string, ConversationSummary>();
    mergeSummary(list, summary(4));
    mergeSummary(list, summary(4, { acr: 'bank', updatedAt: new Date(Date.UTC(2030, 0, 1, 0, 1)).toISOString() }));
    expect(list.get(summary(0).id)?.acr).toBe('bank');
    // And an older copy does not take it back.
    mergeSummary(list, summary(4));
    expect(list.get(summary(0).id)?.acr).toBe('bank');
  });
});
