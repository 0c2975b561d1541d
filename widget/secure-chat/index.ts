/**
 * Bundle entry of `dist/widget/secure-chat.js`, loaded by the loader on idle or first use.
 *
 * @module
 */
export { SecureChat } from './secure-chat.ts';
