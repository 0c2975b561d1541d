import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCsp, loadBankConfig, loaderIntegrity, startBankServer, type BankServer } from '../../demo/bank-server.ts';

const CHAT = 'http://chat.localhost:18081';
const VAULT = 'http://vault.localhost:18082';
let bank: BankServer;
let widgetDir: string;
const sri = (text: string) => `sha384-${createHash('sha384').update(text).digest('base64')}`;

beforeAll(async () => {
  widgetDir = mkdtempSync(join(tmpdir(), 'bank-widget-'));
  writeFileSync(join(widgetDir, 'loader.js'), 'void 0;\n');
  bank = await startBankServer({ port: 0, host: '127.0.0.1', chatOrigin: CHAT, vaultOrigin: VAULT, widgetDir });
});
afterAll(async () => {
  await bank.close();
  rmSync(widgetDir, { recursive: true, force: true });
});

describe('demo bank server', () => {
  it('serves the page with the chat and vault origins templated in', async () => {
    const response = await fetch(`${bank.url}/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(
      `<script src="${CHAT}/widget/loader.js" integrity="${sri('void 0;\n')}" crossorigin="anonymous" async></script>`,
    );
    expect(html).toContain(`<secure-chat server="${CHAT}" vault="${VAULT}"`);
    expect(html).not.toContain('{{');
  });

  it('sends a strict CSP without unsafe-inline or eval', async () => {
    const csp = (await fetch(`${bank.url}/`)).headers.get('content-security-policy');
    expect(csp).toBe(bankCsp(CHAT, VAULT));
    const directives = Object.fromEntries(csp!.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'", CHAT]);
    expect(directives['connect-src']).toEqual([CHAT, 'ws://chat.localhost:18081']);
    expect(directives['frame-src']).toEqual([VAULT]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['img-src']).toEqual(["'self'", 'data:']);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('sends CSP violation reports to the chat server with report-uri (not report-to, which would disable it)', async () => {
    const csp = (await fetch(`${bank.url}/`)).headers.get('content-security-policy')!;
    expect(csp).toContain(`report-uri ${CHAT}/v1/csp-reports`);
    expect(csp).not.toContain('report-to');
  });

  it('pins the loader by the hash of the file as it is when the page is served (a rebuild is picked up)', async () => {
    writeFileSync(join(widgetDir, 'loader.js'), 'void 1;\n');
    const html = await (await fetch(`${bank.url}/`)).text();
    expect(html).toContain(`integrity="${sri('void 1;\n')}"`);
    expect(loaderIntegrity(widgetDir)).toBe(sri('void 1;\n'));
    writeFileSync(join(widgetDir, 'loader.js'), 'void 0;\n');
  });

  it('refuses to serve the page without a built loader rather than drop the integrity pin', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'bank-empty-'));
    const other = await startBankServer({ port: 0, host: '127.0.0.1', chatOrigin: CHAT, vaultOrigin: VAULT, widgetDir: empty });
    try {
      const response = await fetch(`${other.url}/`);
      expect(response.status).toBe(500);
      expect(await response.text()).toContain('npm run build');
    } finally {
      await other.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('has no inline script or style in the page', async () => {
    const html = await (await fetch(`${bank.url}/`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('serves the page script and stylesheet, and nothing else', async () => {
    expect((await fetch(`${bank.url}/demo.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${bank.url}/style.css`)).headers.get('content-type')).toMatch(/^text\/css/);
    expect((await fetch(`${bank.url}/bank-server.ts`)).status).toBe(404);
    expect((await fetch(`${bank.url}/../bank-server.ts`)).status).toBe(404);
    expect((await fetch(`${bank.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('reads its configuration from the environment with the documented defaults', () => {
    expect(loadBankConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      chatOrigin: 'http://chat.localhost:8081',
      vaultOrigin: 'http://vault.localhost:8082',
    });
    expect(loadBankConfig({ BANK_PORT: '9000', CHAT_PORT: '9001', VAULT_ORIGIN: 'https://vault.example/' })).toMatchObject({
      port: 9000,
      chatOrigin: 'http://chat.localhost:9001',
      vaultOrigin: 'https://vault.example',
    });
  });
});
