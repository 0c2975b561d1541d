/**
 * Styles of `<spc-console>` (adopted stylesheets: no inline styles, works under a strict CSP).
 *
 * @module
 */
import { css } from 'lit';

export const styles = css`
  :host { display: block; font: 15px/1.4 system-ui, sans-serif; color: #1b1f24; }
  * { box-sizing: border-box; }
  h1 { font-size: 18px; margin: 0; flex: 1; }
  h2 { font-size: 16px; margin: 0 0 8px; }
  button, input, select, textarea { font: inherit; }
  button { padding: 6px 12px; border: 1px solid #0b5fff; border-radius: 6px; background: #0b5fff; color: #fff; cursor: pointer; }
  button:disabled { opacity: 0.6; }
  :focus-visible { outline: 3px solid #0b5fff; outline-offset: 2px; }
  label { display: flex; flex-direction: column; gap: 2px; font-size: 13px; }
  input, select, textarea { padding: 6px; border: 1px solid #c3c9d1; border-radius: 6px; }
  header { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: #10243e; color: #fff; }
  .status { font-size: 12px; opacity: 0.85; }
  .login { max-width: 320px; margin: 10vh auto; display: flex; flex-direction: column; gap: 12px; }
  .login form { display: flex; flex-direction: column; gap: 10px; }
  .layout { display: grid; grid-template-columns: 300px 1fr; min-height: calc(100vh - 52px); }
  nav { border-right: 1px solid #d9dde3; padding: 12px; overflow-y: auto; }
  nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
  .conversation { width: 100%; display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; text-align: left; background: #fff; color: inherit; border-color: #d9dde3; }
  .conversation[aria-current='true'] { border-color: #0b5fff; background: #eef3ff; }
  .conversation .last { grid-column: 1 / -1; font-size: 13px; color: #5b6470; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .badge { font-size: 11px; padding: 1px 6px; border-radius: 999px; background: #e6e8eb; }
  .badge.acr-bank { background: #d3f5df; color: #0a5a26; }
  .badge.acr-channel { background: #fff1cc; color: #6b4b00; }
  .badge.channel { background: #fff; border: 1px solid #8a939e; color: #1b1f24; }
  .badges { display: flex; flex-wrap: wrap; gap: 4px; justify-content: flex-end; align-items: center; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  .conversation-header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
  .conversation-header h2 { margin: 0; }
  .secure-link { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
  .secure-link p { flex-basis: 100%; margin: 0; }
  .secure-link p:empty { display: none; }
  .error.inline { margin: 0; }
  .via { font-style: italic; }
  main { padding: 12px 16px; display: flex; flex-direction: column; gap: 12px; }
  .log { display: flex; flex-direction: column; gap: 6px; max-height: 50vh; overflow-y: auto; padding: 8px; background: #f5f6f8; border-radius: 8px; }
  .msg { max-width: 80%; padding: 6px 10px; border-radius: 8px; background: #fff; border: 1px solid #d9dde3; }
  .msg p { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  .msg .who { font-size: 12px; color: #5b6470; }
  .msg.agent { align-self: flex-end; background: #eef3ff; }
  .msg.system { align-self: center; background: transparent; border: 0; color: #5b6470; }
  .msg.pending { opacity: 0.7; }
  .step { padding: 8px 10px; border-left: 4px solid #0b5fff; background: #fff; border-radius: 6px; }
  .step.done { border-left-color: #0a7a32; font-weight: 600; }
  .reply { display: flex; gap: 8px; align-items: flex-end; }
  .reply textarea { flex: 1; }
  fieldset { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; border: 1px solid #d9dde3; border-radius: 8px; }
  .muted { color: #5b6470; font-size: 13px; }
  .error { margin: 8px 16px; padding: 8px; background: #fde7ea; color: #8a0015; border-radius: 6px; }
  .info { color: #0a5a26; }
`;
