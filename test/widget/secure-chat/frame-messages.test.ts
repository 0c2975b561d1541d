import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { ConnectMessageSchema, FRAME_PROTOCOL_VERSION } from '../../../protocol/frame.ts';
import {
  FRAME_MAX_HEIGHT_PX,
  FRAME_MIN_HEIGHT_PX,
  clampFrameHeight,
  connectMessage,
  frameUrl,
  originOf,
  parseBeginResult,
  parseFrameEvent,
  postConnect,
  type PostTarget,
} from '../../../widget/secure-chat/frame-messages.ts';

const VAULT = 'http://vault.localhost:8082';
const card = { token: 'tok_abcdefghijklmnop1234', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 };

function recorder() {
  const calls: { message: unknown; targetOrigin: string; transfer: Transferable[] | undefined }[] = [];
  const target: PostTarget = { postMessage: (message, targetOrigin, transfer) => void calls.push({ message, targetOrigin, transfer }) };
  return { calls, target };
}

describe('connect message', () => {
  it('is exactly {type: "spc:connect", version} and passes the protocol schema', () => {
    expect(connectMessage()).toEqual({ type: 'spc:connect', version: FRAME_PROTOCOL_VERSION });
    expect(v.safeParse(ConnectMessageSchema, connectMessage()).success).toBe(true);
  });

  it('is posted to the exact vault origin, transferring the rpc and events ports', () => {
    const { calls, target } = recorder();
    const rpc = new MessageChannel();
    const events = new MessageChannel();
    postConnect(target, VAULT, [rpc.port2, events.port2]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.targetOrigin).toBe(VAULT);
    expect(calls[0]!.message).toEqual(connectMessage());
    expect(calls[0]!.transfer).toEqual([rpc.port2, events.port2]);
    for (const c of [rpc, events]) {
      c.port1.close();
      c.port2.close();
    }
  });

  it.each(['*', '/', '', 'null', 'vault.localhost:8082', `${VAULT}/frame`, `${VAULT}/`, 'javascript:alert(1)', 'data:text/html,x'])(
    'refuses to post to target origin %j',
    (bad) => {
      const { calls, target } = recorder();
      const channel = new MessageChannel();
      expect(() => postConnect(target, bad, [channel.port1, channel.port2])).toThrow(TypeError);
      expect(calls).toEqual([]);
      channel.port1.close();
    },
  );
});

describe('originOf', () => {
  it('reduces http(s) URLs to their origin and rejects everything else', () => {
    expect(originOf('https://vault.example/frame?x=1')).toBe('https://vault.example');
    expect(originOf(VAULT)).toBe(VAULT);
    expect(originOf('*')).toBeNull();
    expect(originOf('javascript:alert(1)')).toBeNull();
    expect(originOf('')).toBeNull();
    expect(originOf(null)).toBeNull();
  });

  it('puts the frame at FRAME_PATH on the vault origin', () => {
    expect(frameUrl(VAULT)).toBe(`${VAULT}/frame`);
  });
});

describe('frame events', () => {
  it.each([
    { type: 'ready', height: 320 },
    { type: 'resize', height: 0 },
    { type: 'change', complete: false, brand: 'visa', errors: { number: 'CARD_NUMBER_INVALID' } },
    { type: 'complete', kind: 'card_payment', card },
    { type: 'error', error: { code: 'TOKEN_EXPIRED', message: 'expired' } },
  ])('accepts %j', (event) => {
    expect(parseFrameEvent(event)).toEqual(event);
  });

  it.each([
    ['null', null],
    ['a string', 'ready'],
    ['an unknown type', { type: 'navigate', url: 'https://evil.example' }],
    ['an extra key', { type: 'ready', height: 300, html: '<img onerror=x>' }],
    ['a negative height', { type: 'resize', height: -1 }],
    ['a huge height', { type: 'resize', height: 1e9 }],
    ['a fractional height', { type: 'resize', height: 10.5 }],
    ['a full card number as last4', { type: 'complete', card: { ...card, last4: '4242424242424242' } }],
    ['a card with extra fields', { type: 'complete', card: { ...card, number: '4242424242424242' } }],
    ['a malformed card token', { type: 'complete', card: { ...card, token: 'not-a-token' } }],
    ['an error with a lowercase code', { type: 'error', error: { code: 'oops', message: 'x' } }],
    ['an error with a long message', { type: 'error', error: { code: 'OOPS', message: 'x'.repeat(301) } }],
    ['a prototype-polluting object', JSON.parse('{"type":"ready","height":1,"__proto__":{"polluted":true}}')],
  ])('drops an event with %s', (_name, data) => {
    expect(parseFrameEvent(data)).toBeNull();
  });

  it('validates the result of begin', () => {
    const display = { kind: 'card_payment', stepId: 'stp_abcdefghijklmnop', amount: { minor: 1250, currency: 'EUR' }, formattedAmount: '€12.50', purpose: 'Invoice', reference: 'INV-1' };
    expect(parseBeginResult({ ok: true, display })).toEqual({ ok: true, display });
    expect(parseBeginResult({ ok: false, error: { code: 'TOKEN_EXPIRED', message: 'expired' } })?.ok).toBe(false);
    expect(parseBeginResult({ ok: true })).toBeNull();
    expect(parseBeginResult({ ok: true, display, pan: '4242424242424242' })).toBeNull();
    expect(parseBeginResult(undefined)).toBeNull();
    const transfer = { ...display, kind: 'transfer', payee: { name: 'A. Martin', accountLast4: '1234' } };
    expect(parseBeginResult({ ok: true, display: transfer })).toEqual({ ok: true, display: transfer });
    expect(parseBeginResult({ ok: true, display: { ...display, kind: 'transfer' } })).toBeNull();
    expect(parseBeginResult({ ok: true, display: { ...display, kind: 'address_change' } })).toBeNull();
  });

  it('clamps reported heights to [FRAME_MIN_HEIGHT_PX, FRAME_MAX_HEIGHT_PX]', () => {
    expect(clampFrameHeight(0)).toBe(FRAME_MIN_HEIGHT_PX);
    expect(clampFrameHeight(2000)).toBe(FRAME_MAX_HEIGHT_PX);
    expect(clampFrameHeight(412.4)).toBe(412);
    expect(clampFrameHeight(Number.NaN)).toBe(FRAME_MIN_HEIGHT_PX);
  });
});
