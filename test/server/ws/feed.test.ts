import { describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../../protocol/chat.ts';
import { WS_MAX_MESSAGES_PER_SECOND } from '../../../protocol/chat.ts';
import { ConversationFeed } from '../../../server/ws/feed.ts';
import { TokenBucket, WS_ABUSE_DROPS } from '../../../server/ws/rate-limit.ts';

const event = (seq: number): ConversationEvent => ({ kind: 'system', conversationId: 'cnv_AAAAAAAA', seq, at: '', text: `s${seq}` });

describe('ConversationFeed', () => {
  it('buffers live events that arrive during a replay and sends each seq once, in order', () => {
    const sent: number[] = [];
    const feed = new ConversationFeed('cnv_AAAAAAAA', (e) => sent.push(e.seq));
    feed.beginReplay();
    feed.replayed(event(4));
    feed.live(event(6)); // appended while the replay was being read…
    feed.replayed(event(5));
    feed.live(event(5)); // …and one the replay also read
    feed.endReplay(5);
    feed.live(event(7));
    expect(sent).toEqual([4, 5, 6, 7]);
  });

  it('does not replay again what was pushed live before the first resume', () => {
    const sent: number[] = [];
    const feed = new ConversationFeed('cnv_AAAAAAAA', (e) => sent.push(e.seq));
    feed.live(event(3));
    feed.beginReplay();
    for (const seq of [1, 2, 3]) feed.replayed(event(seq));
    feed.endReplay(3);
    expect(sent).toEqual([3, 1, 2]);
  });

  it('ignores a live event it has already sent', () => {
    const sent: number[] = [];
    const feed = new ConversationFeed('cnv_AAAAAAAA', (e) => sent.push(e.seq));
    feed.beginReplay();
    feed.endReplay(0);
    feed.live(event(1));
    feed.live(event(1));
    expect(sent).toEqual([1]);
  });
});

describe('TokenBucket', () => {
  it(`lets WS_MAX_MESSAGES_PER_SECOND (${WS_MAX_MESSAGES_PER_SECOND}) frames through at once, then refills at that rate`, () => {
    let now = 0;
    const bucket = new TokenBucket(WS_MAX_MESSAGES_PER_SECOND, () => now);
    for (let i = 0; i < WS_MAX_MESSAGES_PER_SECOND; i++) expect(bucket.take()).toBe('ok');
    expect(bucket.take()).toBe('limited');
    now += 1000 / WS_MAX_MESSAGES_PER_SECOND;
    expect(bucket.take()).toBe('ok');
    expect(bucket.take()).toBe('limited');
  });

  it(`judges more than WS_ABUSE_DROPS (${WS_ABUSE_DROPS}) dropped frames in the window abusive`, () => {
    const bucket = new TokenBucket(WS_MAX_MESSAGES_PER_SECOND, () => 0);
    for (let i = 0; i < WS_MAX_MESSAGES_PER_SECOND; i++) bucket.take();
    for (let i = 0; i < WS_ABUSE_DROPS; i++) expect(bucket.take()).toBe('limited');
    expect(bucket.take()).toBe('abusive');
  });
});
