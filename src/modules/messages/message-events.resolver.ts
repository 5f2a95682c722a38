import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Resolver, Root, Subscription } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { MessageStatus } from '../../graphql/enums.js';
import { fromGlobalId } from '../../lib/ids.js';
import type { StatusEvent } from '../../realtime/status-hub.js';
import { toMessageView } from './messages.service.js';
import { Message } from './messages.types.js';
import * as q from './messages.queries.js';

interface SubscriptionArgs {
  messageId?: string | null;
  recipientId?: string | null;
}

@Resolver()
export class MessageEventsResolver {
  @Authorized(Role.READ)
  @Subscription(() => Message, {
    description: 'Every status change of one message, or of every message to one recipient; at least one argument.',
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const { messageId, recipientId } = args as SubscriptionArgs;
      if (!messageId && !recipientId) {
        throw new GraphQLError('messageStatusChanged needs messageId or recipientId', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      const tenantId = tenantOf(ctx);
      // An id of another type or a malformed one can match nothing: no events, not an error.
      const message = messageId ? (fromGlobalId(messageId, 'Message')?.uuid ?? 'none') : undefined;
      const recipient = recipientId ? (fromGlobalId(recipientId, 'Recipient')?.uuid ?? 'none') : undefined;
      return ctx.services.statusHub.subscribe(
        (e) => e.tenantId === tenantId && (!message || e.id === message) && (!recipient || e.recipientId === recipient),
      );
    },
  })
  async messageStatusChanged(
    @Root() event: StatusEvent,
    @Ctx() ctx: Context,
    @Arg('messageId', () => ID, { nullable: true }) _messageId?: string | null,
    @Arg('recipientId', () => ID, { nullable: true }) _recipientId?: string | null,
  ) {
    const row = await q.findMessage(ctx.services.db, tenantOf(ctx), event.id);
    if (!row) throw new Error(`message ${event.id} changed status but is gone`);
    // The status this event announced, even if the message has moved on since.
    return { ...toMessageView(row), status: event.status as MessageStatus };
  }
}
