/**
 * What every route and socket handler of one chat server instance shares.
 *
 * @module
 */
import type { ChannelGateway } from './channels/gateway.ts';
import type { ChatConfig } from './config.ts';
import type { ChatService } from './chat-service.ts';
import type { Clock } from './clock.ts';
import type { PivotKeyRing } from './keys.ts';
import type { NoticeVerifier } from './notices.ts';
import type { PubSub } from './pubsub.ts';
import type { ChatStore } from './store/store.ts';

export interface ChatContext {
  readonly config: ChatConfig;
  readonly store: ChatStore;
  readonly bus: PubSub;
  readonly keys: PivotKeyRing;
  readonly clock: Clock;
  readonly service: ChatService;
  readonly verifyNotice: NoticeVerifier;
  /** Public channels: send a link, find a conversation's platform identity. */
  readonly channels: ChannelGateway;
}
