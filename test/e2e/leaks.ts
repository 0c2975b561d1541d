/**
 * Leak detection for the e2e tests: every place outside the vault where a card number could
 * surface is recorded, then searched. A finding is a test failure, not a warning.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';

/** Every spelling of a PAN we search for: plain, grouped by 4, grouped by dashes. */
export function panVariants(pan: string): string[] {
  const groups = pan.match(/.{1,4}/g) ?? [pan];
  return [pan, groups.join(' '), groups.join('-'), groups.join('%20')];
}

export interface Recorded {
  where: string;
  text: string;
}

/**
 * Records, for one page, every request and response body, every WebSocket frame and every console
 * message that does not belong to the vault origin.
 */
export function recordTraffic(page: Page, vaultOrigin: string): Recorded[] {
  const seen: Recorded[] = [];
  page.on('request', (req) => {
    if (req.url().startsWith(vaultOrigin)) return;
    const headers = JSON.stringify(req.headers());
    seen.push({ where: `request ${req.method()} ${req.url()}`, text: `${req.url()}\n${headers}\n${req.postData() ?? ''}` });
  });
  page.on('response', async (res) => {
    if (res.url().startsWith(vaultOrigin)) return;
    try {
      const body = await res.text();
      seen.push({ where: `response ${res.url()}`, text: body });
    } catch {
      // bodies of redirects and aborted requests are unavailable
    }
  });
  page.on('websocket', (ws) => {
    if (ws.url().startsWith(vaultOrigin.replace(/^http/, 'ws'))) return;
    ws.on('framesent', (f) => seen.push({ where: `ws sent ${ws.url()}`, text: String(f.payload) }));
    ws.on('framereceived', (f) => seen.push({ where: `ws received ${ws.url()}`, text: String(f.payload) }));
  });
  page.on('console', (msg) => seen.push({ where: `console ${msg.type()}`, text: msg.text() }));
  page.on('pageerror', (err) => seen.push({ where: 'pageerror', text: `${err.message}\n${err.stack ?? ''}` }));
  return seen;
}

/** Everything the host page's own JavaScript can see: DOM (shadow roots included), values, storage. */
export async function hostVisibleState(page: Page): Promise<string> {
  return page.evaluate(() => {
    const parts: string[] = [];
    const walk = (root: Document | ShadowRoot) => {
      parts.push(root instanceof Document ? root.documentElement.outerHTML : root.innerHTML);
      for (const el of Array.from(root.querySelectorAll('*'))) {
        if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) parts.push(el.value);
        if (el.shadowRoot) walk(el.shadowRoot);
        if (el instanceof HTMLIFrameElement) {
          try {
            // Cross-origin: must throw or be null.
            const doc = el.contentDocument;
            if (doc) parts.push(doc.documentElement.outerHTML);
          } catch {
            /* expected */
          }
        }
      }
    };
    walk(document);
    for (const store of [sessionStorage, localStorage]) {
      for (let i = 0; i < store.length; i++) {
        const key = store.key(i)!;
        parts.push(`${key}=${store.getItem(key)}`);
      }
    }
    parts.push(document.cookie);
    // Global variables the page defined (window's own enumerable properties).
    for (const key of Object.keys(window)) {
      try {
        const value = (window as unknown as Record<string, unknown>)[key];
        if (typeof value === 'string' || typeof value === 'number') parts.push(`${key}=${value}`);
        else if (value && typeof value === 'object' && !(value instanceof Node) && value !== window) {
          parts.push(`${key}=${JSON.stringify(value)}`);
        }
      } catch {
        /* cyclic or inaccessible */
      }
    }
    return parts.join('\n');
  });
}

/** Reads every file in a folder (non-recursive) whose name matches, as latin1 text of its bytes. */
export function readFiles(dir: string, match: RegExp): Recorded[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => match.test(name))
    .map((name) => ({ where: join(dir, name), text: readFileSync(join(dir, name)).toString('latin1') }));
}

/** The places among `recorded` that contain any of the needles. */
export function findLeaks(recorded: Recorded[], needles: string[]): string[] {
  const hits: string[] = [];
  for (const r of recorded) for (const n of needles) if (r.text.includes(n)) hits.push(`${n} in ${r.where}`);
  return hits;
}
