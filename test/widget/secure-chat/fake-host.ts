/**
 * A stand-in for `<secure-chat>` as its controllers see it (`ChatHost`): the attributes a test
 * sets, no rendering, and every `spc-error` and `spc-login-required` event it dispatches, in order.
 */
import type { ChatHost } from '../../../widget/secure-chat/session-controller.ts';

export class FakeHost extends EventTarget implements ChatHost {
  server: string | null;
  vault: string | null = null;
  locale: string | null = null;
  accent: string | null = null;
  open = true;
  isConnected = true;
  identityProvider: ChatHost['identityProvider'] = undefined;
  readonly updateComplete = Promise.resolve(true);
  readonly events: { type: string; detail: unknown }[] = [];
  constructor(server: string) {
    super();
    this.server = server;
    for (const type of ['spc-error', 'spc-login-required']) this.addEventListener(type, (event) => this.events.push({ type, detail: (event as CustomEvent).detail }));
  }
  /** The details of the `spc-error` events so far. */
  get errors(): unknown[] {
    return this.events.filter((e) => e.type === 'spc-error').map((e) => e.detail);
  }
  addController(): void {}
  removeController(): void {}
  requestUpdate(): void {}
}
