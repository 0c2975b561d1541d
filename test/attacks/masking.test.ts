/**
 * Attack: a card number slipped past the masker by how it is written, on every path customer or
 * agent text enters the REAL chat server: the customer's WebSocket, the agent's REST messages and
 * the display name of a new session. Each spelling the review showed to be stored in clear is
 * sent; the echo, the stored events, the customer record and every byte of the database files
 * are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGE_MAX_CHARS } from '../../protocol/chat.ts';
import { MASK_CHAR } from '../../server/conversations/mask.ts';
import { agentSession, call, CHAT, customerSession, customerSocket, msgId, removeDir, startChat, tempDir, type Running } from '../server/helpers.ts';
import { rows } from '../channels/helpers.ts';
import { dbFilesHoldingPan, holdsPan } from '../channels/pan-scan.ts';

const PAN = '4210960631889196';
const G = ['4210', '9606', '3188', '9196'];
const fullWidth = (digits: string) => String.fromCodePoint(...[...digits].map((d) => 0xff10 + Number(d)));

/** The spellings of the review, each as a customer might send it. */
const DODGES: Record<string, string> = {
  dots: `card ${G.join('.')}`,
  slashes: `card ${G.join('/')}`,
  underscores: `card ${G.join('_')}`,
  'no-break spaces': `card ${G.join('\u00a0')}`,
  'narrow no-break spaces': `card ${G.join('\u202f')}`,
  'thin spaces': `card ${G.join('\u2009')}`,
  'four spaces': `card ${G.join('    ')}`,
  'line breaks': `card\n${G.join('\n')}`,
  'zero-width spaces': `card ${[...PAN].join('\u200b')}`,
  'full-width digits': `card ${fullWidth(PAN)}`,
  'card and CVC as one 19-digit run': `card ${PAN}737`,
  'expiry and CVC after it': `card ${G.join(' ')} exp 11/29 cvc 737`,
};

let dir: string;
let run: Running;
const time = { now: Date.UTC(2030, 0, 1, 9) };

beforeAll(async () => {
  dir = tempDir();
  run = await startChat(dir, {}, { clock: () => time.now });
});
afterAll(async () => {
  await run.close();
  removeDir(dir);
});

const storedTexts = (): string[] =>
  rows<{ payload: string }>(run, "select payload from events where kind = 'message' order by id").map((r) => (JSON.parse(r.payload) as { text: string }).text);

describe('attack: a card number written to dodge the masker', () => {
  it('every spelling sent on the customer WebSocket is masked in the echo, in storage and on disk', async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    const sent = Object.values(DODGES);
    for (const [i, text] of sent.entries()) {
      // One message per second of the server's clock: the frame rate limit never applies.
      time.now += 1000;
      socket.send({ type: 'send', clientMsgId: msgId(`dodge${i}`), text });
      await socket.waitFor('event', () => socket.ofType('event').length === i + 1);
    }
    socket.close();

    const echoed = socket.ofType('event').map((f) => (f.event.kind === 'message' ? f.event.text : ''));
    expect(echoed).toHaveLength(sent.length);
    for (const [i, text] of echoed.entries()) {
      expect(holdsPan(sent[i]!, PAN), `the scanner sees the number in ${sent[i]}`).toBe(true);
      expect(holdsPan(text, PAN), text).toBe(false);
      expect(text).toContain(MASK_CHAR);
    }
    expect(echoed).toContain('card •••• •••• •••• 9196 exp 11/29 cvc •••');
    expect(echoed.some((t) => t.includes('737'))).toBe(false);
    expect(storedTexts()).toEqual(echoed);
    expect(dbFilesHoldingPan(dir, PAN).holding).toEqual([]);
  });

  it("an agent's REST message is masked the same way", async () => {
    const { conversationId } = await customerSession(run);
    const agent = await agentSession(run);
    const res = await call(run, 'POST', `/v1/agent/conversations/${conversationId}/messages`, {
      origin: CHAT,
      token: agent,
      body: { clientMsgId: 'agentdodge1', text: `Is it ${G.join('\u2009')}?` },
    });
    expect(res.status).toBe(200);
    expect(storedTexts().at(-1)).toBe('Is it ••••\u2009••••\u2009••••\u20099196?');
    expect(dbFilesHoldingPan(dir, PAN).holding).toEqual([]);
  });

  it('a display name holding a card number is stored masked', async () => {
    const res = await call(run, 'POST', '/v1/sessions', { body: { displayName: `Rob ${G.join('.')}` } });
    expect(res.status).toBe(201);
    expect(rows(run, 'select display_name from customers where display_name like ?', 'Rob %')).toEqual([{ display_name: 'Rob ••••.••••.••••.9196' }]);
    expect(dbFilesHoldingPan(dir, PAN).holding).toEqual([]);
  });

  it(`a ${MESSAGE_MAX_CHARS}-character message of digits and separators is accepted and masked`, async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    const text = '4242 '.repeat(MESSAGE_MAX_CHARS / 5);
    expect(text).toHaveLength(MESSAGE_MAX_CHARS);
    time.now += 1000;
    socket.send({ type: 'send', clientMsgId: msgId('long'), text });
    const frame = await socket.waitFor('event');
    socket.close();
    const echoed = frame.event.kind === 'message' ? frame.event.text : '';
    expect(echoed).toHaveLength(MESSAGE_MAX_CHARS);
    expect(echoed.replace(/[^0-9]/g, '').length).toBeLessThanOrEqual(8);
  });
});
