/**
 * Registers `<secure-chat>`. Registering twice (a second copy of the script on the page) is
 * harmless: the first definition wins.
 *
 * @module
 */
import { SecureChat } from './secure-chat.component.ts';
import type { SecureChatEventMap } from './events.ts';

export { SecureChat };
export type * from './events.ts';

if (!customElements.get('secure-chat')) customElements.define('secure-chat', SecureChat);

declare global {
  interface HTMLElementTagNameMap {
    'secure-chat': SecureChat;
  }
  interface HTMLElementEventMap {
    'spc-ready': SecureChatEventMap['spc-ready'];
    'spc-login-required': SecureChatEventMap['spc-login-required'];
    'spc-step-completed': SecureChatEventMap['spc-step-completed'];
    'spc-error': SecureChatEventMap['spc-error'];
  }
}
