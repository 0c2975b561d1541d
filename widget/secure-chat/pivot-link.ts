/**
 * The pivot link's code arrives in the page's URL fragment (`…#pivot=<code>`, protocol/chat.ts
 * PIVOT_LINK_FRAGMENT_PARAM). It is taken out of the address bar at once (history.replaceState:
 * path, query and any other fragment part stay) so it lingers in no history entry, bookmark or
 * screenshot; the widget then redeems it with a POST body, never in a URL.
 *
 * @module
 */
import { PIVOT_LINK_FRAGMENT_PARAM } from '../../protocol/chat.ts';

/** Longest code sent to the server; anything longer cannot be a code and is refused there. */
export const PIVOT_CODE_MAX_CHARS = 128;

/** Returns the code in `location`'s fragment, or null, and removes it from the address bar. */
export function takePivotCode(
  location: Pick<Location, 'href' | 'hash'>,
  history: Pick<History, 'replaceState' | 'state'>,
): string | null {
  const prefix = `${PIVOT_LINK_FRAGMENT_PARAM}=`;
  const parts = location.hash.slice(1).split('&');
  const hit = parts.find((part) => part.startsWith(prefix));
  if (hit === undefined) return null;
  const rest = parts.filter((part) => !part.startsWith(prefix)).join('&');
  try {
    history.replaceState(history.state, '', location.href.split('#')[0] + (rest ? `#${rest}` : ''));
  } catch {
    // A sandboxed document may refuse; the code is single use and short-lived either way.
  }
  return hit.slice(prefix.length, prefix.length + PIVOT_CODE_MAX_CHARS);
}
