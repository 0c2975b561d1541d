/**
 * The frame's one way to talk to the vault service: a same-origin JSON POST that never throws.
 * The answer is a 201 (or 200) body, or a catalog code (its shape checked: the catalog is not bundled).
 *
 * @module
 */
import type { ErrorCode } from '../../protocol/errors.ts';

export type PostOutcome = { ok: true; json: unknown; status: number } | { ok: false; code: ErrorCode };

/** POST `body` to `path` on the vault's own origin. */
export async function postToVault(path: string, body: unknown): Promise<PostOutcome> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
      // The page's policy is no-referrer, under which a same-origin POST carries `Origin: null`;
      // this request must carry the real origin, which the service checks.
      referrerPolicy: 'same-origin',
    });
  } catch {
    return { ok: false, code: 'UPSTREAM_UNAVAILABLE' };
  }
  let json: unknown = null;
  try {
    json = await response.json();
  } catch {
    // handled below
  }
  if (response.status === 201 || response.status === 200) return { ok: true, json, status: response.status };
  const code = (json as { error?: { code?: unknown } } | null)?.error?.code;
  return { ok: false, code: typeof code === 'string' && /^[A-Z_]{3,40}$/.test(code) ? (code as ErrorCode) : 'INTERNAL_ERROR' };
}
