/**
 * One spelling of each channel's name (protocol/platforms.ts CHANNEL_LABELS): the agent console's
 * badges and the chat server's system events say the same word.
 */
import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../../protocol/chat.ts';
import { CHANNEL_LABELS } from '../../protocol/platforms.ts';
import { ChannelSendError } from '../../server/channels/adapter.ts';
import { channelName, pivotLinkSentText } from '../../server/channels/pivot-link-codes.ts';
import { relayFailedText } from '../../server/channels/service.ts';
import { channelLabel } from '../../widget/console/labels.ts';
import { channelLinkedText } from '../../server/routes/sessions.ts';
import { PUBLIC_CHANNELS } from '../../server/store/channels.ts';

describe('channel labels', () => {
  it('name every channel of the protocol', () => {
    expect(Object.keys(CHANNEL_LABELS).sort()).toEqual([...CHANNELS].sort());
    expect(CHANNEL_LABELS).toEqual({ web: 'Web', messenger: 'Messenger', whatsapp: 'WhatsApp', sms: 'SMS' });
  });

  it.each(PUBLIC_CHANNELS)('are the same word for %s in the console and in every system event', (channel) => {
    const label = CHANNEL_LABELS[channel];
    expect(channelLabel(channel)).toBe(label);
    expect(channelName(channel)).toBe(label);
    expect(pivotLinkSentText(channel)).toBe(`Secure link sent on ${label} (valid 15 minutes)`);
    expect(channelLinkedText(channelName(channel))).toBe(`${label} account linked to the bank customer`);
    expect(relayFailedText(channel, new ChannelSendError(500, false))).toBe(`A message was not delivered on ${label}: ${label} did not accept it.`);
  });
});
