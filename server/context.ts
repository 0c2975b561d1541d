/**
 * What every route and socket handler of one chat server instance shares.
 *
 * @module
 */
import type { ChannelGateway } from './channels/gateway.ts';
import type { ChatConfig } from './config.ts';
import type { ChatService } from './conversations/chat-service.ts';
import type { Clock } from './lib/clock.ts';
import type { PivotKeyRing } from './keys/pivot-key-ring.ts';
import type { NoticeVerifier } from './steps/vault-notices.ts';
import type { PubSub } from './lib/pubsub.ts';
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
