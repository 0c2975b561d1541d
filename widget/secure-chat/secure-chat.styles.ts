/**
 * Styles of `<secure-chat>`. Adopted stylesheets only (no style attributes, no inline <style> in
 * the page), so the widget runs under a host CSP without `style-src 'unsafe-inline'`.
 *
 * On phones and short windows (a 1366x768 laptop) the panel takes the whole viewport, so a
 * step's frame fits the message list fully: the frame acts only while it is entirely visible
 * (its occlusion defence). No comments inside the css`` template: they would ship in the bundle.
 *
 * @module
 */
import { css } from 'lit';

export const styles = css`
  :host {
    --_accent: var(--spc-accent, #0b5fff);
    --_fg: #1b1f24;
    --_muted: #5b6470;
    --_bg: #fff;
    --_line: #d9dde3;
    position: fixed;
    right: 16px;
    bottom: 16px;
    z-index: var(--spc-z-index, 2147483000);
    font: 15px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    color: var(--_fg);
  }
  *, *::before, *::after { box-sizing: border-box; }
  [hidden] { display: none !important; }
  button, textarea { font: inherit; }
  button:focus-visible, textarea:focus-visible, .log:focus-visible {
    outline: 3px solid var(--_accent);
    outline-offset: 2px;
  }
  .launcher {
    display: flex; align-items: center; gap: 8px;
    margin-left: auto;
    padding: 12px 18px;
    border: 0; border-radius: 999px;
    background: var(--_accent); color: #fff;
    box-shadow: 0 4px 14px rgb(0 0 0 / 0.25);
    cursor: pointer;
  }
  .launcher svg { width: 22px; height: 22px; fill: currentColor; }
  .panel {
    position: fixed; inset: auto 16px 80px auto;
    margin: 0; padding: 0; max-width: none; max-height: none; color: inherit;
    display: flex; flex-direction: column;
    width: min(400px, calc(100vw - 32px));
    height: min(620px, calc(100vh - 110px));
    background: var(--_bg);
    border: 1px solid var(--_line); border-radius: 12px;
    box-shadow: 0 12px 40px rgb(0 0 0 / 0.25);
    overflow: hidden;
  }
  header {
    display: flex; align-items: center; gap: 8px;
    padding: 10px 12px;
    background: var(--_accent); color: #fff;
  }
  h2 { flex: 1; margin: 0; font-size: 16px; }
  .status { font-size: 12px; opacity: 0.9; }
  .close {
    border: 0; background: transparent; color: inherit;
    width: 32px; height: 32px; border-radius: 6px; font-size: 22px; line-height: 1; cursor: pointer;
  }
  .close:focus-visible { outline-color: #fff; }
  .log {
    flex: 1; overflow-y: auto; container-type: size;
    display: flex; flex-direction: column; gap: 8px;
    padding: 12px;
    background: #f5f6f8;
  }
  .msg { max-width: 85%; padding: 8px 10px; border-radius: 10px; background: var(--_bg); border: 1px solid var(--_line); }
  .msg p { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  .msg .who { display: block; font-size: 12px; color: var(--_muted); }
  .msg.customer { align-self: flex-end; background: var(--_accent); color: #fff; border-color: transparent; }
  .msg.customer .who { color: inherit; opacity: 0.85; }
  .msg.system { align-self: center; background: transparent; border: 0; color: var(--_muted); font-size: 13px; text-align: center; }
  .msg.pending { opacity: 0.7; }
  .step {
    align-self: stretch;
    padding: 12px; border-radius: 10px;
    background: var(--_bg); border: 1px solid var(--_line); border-left: 4px solid var(--_accent);
  }
  .step p { margin: 0 0 8px; }
  .step .title { font-weight: 600; }
  .step .ref { font-size: 13px; color: var(--_muted); }
  .step .done { color: #0a7a32; font-weight: 600; margin: 0; }
  .step .error { color: #b00020; }
  .step iframe { display: block; width: 100%; max-height: calc(100cqh - 10px); border: 0; margin-top: 4px; }
  .primary {
    padding: 8px 14px; border: 0; border-radius: 8px;
    background: var(--_accent); color: #fff; cursor: pointer;
  }
  .primary:disabled { opacity: 0.6; cursor: default; }
  .notice { margin: 0; padding: 8px 12px; font-size: 13px; background: #fff4e5; color: #663c00; }
  form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid var(--_line); }
  textarea {
    flex: 1; resize: none; min-height: 42px; max-height: 120px;
    padding: 8px; border: 1px solid var(--_line); border-radius: 8px; color: inherit;
  }
  .sr-only {
    position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
    overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
  }
  @media (max-width: 480px), (max-height: 700px) {
    .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; border-radius: 0; }
  }
  @media (max-height: 400px) {
    header, form, .log { padding: 4px; }
    textarea { min-height: 0; height: 31px; padding: 4px 8px; }
  }
  @media (prefers-reduced-motion: no-preference) {
    .launcher { transition: transform 0.15s ease; }
    .launcher:hover { transform: translateY(-1px); }
  }
`;
