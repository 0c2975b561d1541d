import { describe, expect, it } from 'vitest';
import { CHANNELS, type Channel } from '../../../protocol/chat.ts';
import { ACR_LEVELS } from '../../../protocol/pivot-token.ts';
import {
  acrLabel,
  canSendSecureLink,
  channelLabel,
  secureLinkErrorText,
  secureLinkSentText,
  timeOfDay,
  viaLabel,
} from '../../../widget/console/labels.ts';

describe('channel labels', () => {
  it.each([
    ['web', 'Web'],
    ['messenger', 'Messenger'],
    ['whatsapp', 'WhatsApp'],
    ['sms', 'SMS'],
  ] as const)('names %s as %j', (channel, label) => {
    expect(channelLabel(channel)).toBe(label);
  });

  it('has a distinct word for every channel of the protocol', () => {
    const labels = CHANNELS.map(channelLabel);
    expect(new Set(labels).size).toBe(CHANNELS.length);
    for (const [i, channel] of CHANNELS.entries()) expect(labels[i]).not.toBe(channel);
  });

  it('says "via" only for messages that came over a public channel', () => {
    expect(viaLabel('messenger')).toBe('via Messenger');
    expect(viaLabel('whatsapp')).toBe('via WhatsApp');
    expect(viaLabel('sms')).toBe('via SMS');
    expect(viaLabel('web')).toBeNull();
    expect(viaLabel(undefined)).toBeNull();
  });

  it('offers a secure link on public channels only', () => {
    expect(CHANNELS.filter(canSendSecureLink)).toEqual(['messenger', 'whatsapp', 'sms']);
  });
});

describe('assurance level labels', () => {
  it.each([
    ['none', 'whatsapp', 'Not verified'],
    ['none', 'web', 'Not verified'],
    ['channel', 'messenger', 'Verified by Messenger link'],
    ['channel', 'sms', 'Verified by SMS link'],
    ['channel', 'web', 'Verified by channel link'],
    ['bank', 'whatsapp', 'Signed in to the bank'],
    ['bank', 'web', 'Signed in to the bank'],
  ] as const)('%s on %s reads %j', (acr, channel, label) => {
    expect(acrLabel(acr, channel)).toBe(label);
  });

  it('never shows the raw level as the label', () => {
    for (const acr of ACR_LEVELS) for (const channel of CHANNELS) expect(acrLabel(acr, channel)).not.toBe(acr);
  });

  it('says "Verified by passkey" once a passkey answered a step at the bank level', () => {
    expect(acrLabel('bank', 'messenger', 'passkey')).toBe('Verified by passkey');
    expect(acrLabel('bank', 'web')).toBe('Signed in to the bank');
  });
});

describe('secure link status', () => {
  it('names the channel and the expiry time of day', () => {
    const text = secureLinkSentText({ channel: 'messenger', expiresAt: '2025-03-04T13:05:00.000Z', seq: 7 }, 'en-GB', 'UTC');
    expect(text).toBe('Secure link sent on Messenger, valid until 13:05.');
  });

  it('uses the agent time zone for the expiry', () => {
    expect(timeOfDay('2025-03-04T13:05:00.000Z', 'en-GB', 'Europe/Paris')).toBe('14:05');
    expect(timeOfDay('2025-07-04T13:05:00.000Z', 'en-GB', 'Europe/Paris')).toBe('15:05');
  });

  it('leaves out an expiry it cannot read', () => {
    expect(timeOfDay('soon')).toBeNull();
    expect(secureLinkSentText({ channel: 'sms', expiresAt: 'soon', seq: 1 })).toBe('Secure link sent on SMS.');
  });
});

describe('secure link errors', () => {
  const server = 'Server text';
  it('explains the WhatsApp 24-hour window', () => {
    const text = secureLinkErrorText('CHANNEL_WINDOW_CLOSED', server, 'whatsapp');
    expect(text).toMatch(/24 hours/);
    expect(text).toMatch(/template/);
    expect(text).not.toContain(server);
  });

  it.each([
    ['CHANNEL_SEND_FAILED', 'sms', /^SMS did not accept/],
    ['CHANNEL_SEND_FAILED', 'messenger', /^Messenger did not accept/],
    ['CHANNEL_NOT_AVAILABLE', 'web', /no public channel/],
    ['CHANNEL_NOT_CONFIGURED', 'whatsapp', /^WhatsApp is not configured/],
  ] as const)('words %s on %s for the agent', (code, channel: Channel, pattern) => {
    expect(secureLinkErrorText(code, server, channel)).toMatch(pattern);
  });

  it('shows the server message with its code for anything else', () => {
    expect(secureLinkErrorText('CONVERSATION_NOT_FOUND', 'No such conversation.', 'sms')).toBe('No such conversation. (CONVERSATION_NOT_FOUND)');
  });
});
