/**
 * docs/errors.md documents every code of protocol/errors.ts; this test fails when they disagree
 * (a code missing from either side, or a different status or audience).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES, PivotError, isErrorCode } from '../../protocol/errors.ts';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
const rows = new Map<string, { status: number; audience: string }>();
for (const line of doc.split('\n')) {
  const m = /^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*([A-Z]+)\s*\|/.exec(line);
  if (m) rows.set(m[1]!, { status: Number(m[2]), audience: m[3]! });
}

describe('error catalog', () => {
  it('documents every code with its status and audience', () => {
    for (const code of ERROR_CODES) {
      expect(rows.get(code), `docs/errors.md lacks ${code}`).toEqual({
        status: ERROR_CATALOG[code].status,
        audience: ERROR_CATALOG[code].audience,
      });
    }
  });

  it('documents no code the catalog lacks', () => {
    for (const code of rows.keys()) expect(isErrorCode(code), `${code} is not in the catalog`).toBe(true);
  });

  it('serialises to {code, message} and never a stack', () => {
    const err = new PivotError('TOKEN_EXPIRED', undefined, { cause: new Error('inner') });
    expect(err.status).toBe(401);
    expect(JSON.stringify(err.toBody())).toBe(
      JSON.stringify({ error: { code: 'TOKEN_EXPIRED', message: ERROR_CATALOG.TOKEN_EXPIRED.message } }),
    );
    expect(JSON.stringify(err.toBody())).not.toContain('inner');
  });

  it('refuses strings that are not codes, including inherited property names', () => {
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('__proto__')).toBe(false);
    expect(isErrorCode('TOKEN_EXPIRED')).toBe(true);
  });
});
