/**
 * Entry of the vault frame (built to dist/vault/frame.js, served by the vault service at
 * /frame/assets/frame.js under a strict CSP).
 *
 * 1. Read the embedded config; refuse to render unless framed by an allowed origin.
 * 2. Accept ONE `connect` from the parent (vault/frame/connect.ts).
 * 3. Serve the frame API on the rpc port through the hardened endpoint, in Comlink's wire format
 *    (`serveApply`); post events on the events port; report height changes.
 *
 * @module
 */
import './frame.css';
import { FRAME_API_METHODS } from '../../protocol/frame.ts';
import { ISSUER_JWKS_PATH } from '../shared/frame-config.ts';
import { isEmbeddedByAllowedOrigin, readFrameConfig } from './config.ts';
import { listenForConnect } from './connect.ts';
import { notice, replaceChildren } from './dom.ts';
import { createEmitter, observeHeight } from './events.ts';
import { hardenEndpoint, serveApply } from './hardened-endpoint.ts';
import { sameOriginIssuerKeys } from './issuer-keys.ts';
import { messageFor } from './messages.ts';
import { createFrameApi } from './session.ts';
import { setFailClosed } from './visibility.ts';

const root = document.getElementById('spc-root') ?? document.body;
const config = readFrameConfig(document);

if (!config || !isEmbeddedByAllowedOrigin(window, config.allowedParentOrigins)) {
  replaceChildren(root, notice(messageFor('FRAME_NOT_ALLOWED'), 'alert'));
} else {
  setFailClosed(config.strictVisibility === true);
  replaceChildren(root, notice('Loading the secure form…'));
  listenForConnect(window, config.allowedParentOrigins, ({ origin, rpc, events }) => {
    // The events port is one-way: whatever the host posts on it is discarded, not queued.
    events.onmessage = null;
    events.addEventListener('message', () => undefined);
    events.start();
    const emit = createEmitter(events);
    observeHeight(root, emit);
    const api = createFrameApi({
      config,
      parentOrigin: origin,
      root,
      emit,
      getKey: sameOriginIssuerKeys(new URL(ISSUER_JWKS_PATH, location.origin).href),
    });
    serveApply(api, hardenEndpoint(rpc, FRAME_API_METHODS));
  });
}
