/**
 * Bundle entry of `dist/console/console.js`: defines the agent console element and makes sure
 * one is on the page. The element is `<spc-console>`; `<secure-chat-console>` is the same
 * console under the name server/console.html uses. When the page holds neither, one
 * `<spc-console>` is appended to `#app` (or `#console-root`, or the body).
 *
 * @module
 */
import { SpcConsole } from './console.component.ts';

export { SpcConsole };

/** The same console under its second tag name (a class may be defined only once). */
export class SecureChatConsole extends SpcConsole {}

if (!customElements.get('spc-console')) customElements.define('spc-console', SpcConsole);
if (!customElements.get('secure-chat-console')) customElements.define('secure-chat-console', SecureChatConsole);

if (!document.querySelector('spc-console, secure-chat-console')) {
  const root = document.getElementById('app') ?? document.getElementById('console-root') ?? document.body;
  root.append(document.createElement('spc-console'));
}

declare global {
  interface HTMLElementTagNameMap {
    'spc-console': SpcConsole;
    'secure-chat-console': SecureChatConsole;
  }
}
