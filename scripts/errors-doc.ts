/**
 * Writes docs/errors.md from protocol/errors.ts. Run after adding a code: `npx tsx scripts/errors-doc.ts`.
 * test/protocol/error-catalog.test.ts fails when the two disagree.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CATALOG, ERROR_CODES } from '../protocol/errors.ts';

const lines = [
  '# Error codes',
  '',
  'Every error that crosses a boundary (HTTP body, WebSocket frame, frame event) is',
  '`{ "error": { "code": "...", "message": "..." } }` (WebSocket and frame events carry `code` and',
  '`message` directly). Switch on `code`; the message is for people and may change.',
  '',
  'Who acts: CUSTOMER (the person can fix it), MERCHANT (the bank\'s integration or configuration),',
  'NETWORK (transient, retry), INTERNAL (our bug, or an attack).',
  '',
  '| code | HTTP | who acts | meaning |',
  '| --- | --- | --- | --- |',
  ...ERROR_CODES.map((code) => {
    const e = ERROR_CATALOG[code];
    return `| \`${code}\` | ${e.status} | ${e.audience} | ${e.message} |`;
  }),
  '',
];
writeFileSync(resolve(import.meta.dirname, '../docs/errors.md'), lines.join('\n'));
console.log(`docs/errors.md: ${ERROR_CODES.length} codes`);
