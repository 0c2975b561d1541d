import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { INTEGRITY_CACHE_MAX_AGE_S, sriSha384 } from '../../../server/http/static.ts';
import { BANK, EVIL, call, chatTest, startChat } from '../helpers.ts';

const LOADER = 'console.log("loader");\n';
const CHUNK = 'secure-chat-Ab12_x.js';
const BUNDLE = `import{a}from"./${CHUNK}";export const widget = () => import(\`./secure-chat-Cd34.js\`);\n`;
const CHUNK_TEXT = 'export const a = 1;\n';
const STEP_CHUNK = 'export const b = 2;\n';
const sri = (text: string) => `sha384-${createHash('sha384').update(text).digest('base64')}`;

describe('widget SRI hashes and cross-origin loading', () => {

  const it = chatTest.override('chatSetup', ({ dir }) => {
    const dist = join(dir, 'dist');
    mkdirSync(join(dist, 'widget'), { recursive: true });
    writeFileSync(join(dist, 'widget', 'loader.js'), LOADER);
    writeFileSync(join(dist, 'widget', 'secure-chat.js'), BUNDLE);
    writeFileSync(join(dist, 'widget', CHUNK), CHUNK_TEXT);
    writeFileSync(join(dist, 'widget', 'secure-chat-Cd34.js'), STEP_CHUNK);
    // A chunk of an older build that nothing loads any more is not published.
    writeFileSync(join(dist, 'widget', 'secure-chat-Old9.js'), 'old');
    return { patch: { distDir: dist } };
  });

  it('serves GET /widget/integrity.json with the sha384 of loader.js, secure-chat.js and each chunk it loads, briefly cacheable', async ({ run }) => {
    const res = await call(run, 'GET', '/widget/integrity.json', { origin: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      'loader.js': sri(LOADER),
      'secure-chat.js': sri(BUNDLE),
      [CHUNK]: sri(CHUNK_TEXT),
      'secure-chat-Cd34.js': sri(STEP_CHUNK),
    });
    expect(res.headers['cache-control']).toBe(`public, max-age=${INTEGRITY_CACHE_MAX_AGE_S}`);
    expect(sriSha384(Buffer.from(LOADER))).toBe(sri(LOADER));
  });

  it('answers the loader to a crossorigin="anonymous" request from a bank origin with that origin in ACAO, never *', async ({ run }) => {
    const res = await call(run, 'GET', '/widget/loader.js', { origin: BANK });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(BANK);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers['vary']).toContain('Origin');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    const foreign = await call(run, 'GET', '/widget/loader.js', { origin: EVIL });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers 404 NOT_FOUND for integrity.json when the widget is not built', async ({ dir, onTestFinished }) => {
    const run = await startChat(dir, {}, {}, { distDir: join(dir, 'nowhere') })
    onTestFinished(() => run.close());
    const res = await call(run, 'GET', '/widget/integrity.json', { origin: null });
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});
