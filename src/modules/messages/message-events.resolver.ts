import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Resolver, Root, Subscription } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import type { StatusEvent } from '../../realtime/status-hub.js';
import { toMessageView } from './messages.views.js';
import { Message } from './messages.types.js';

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
      return ctx.services.messageEvents.watch(tenantOf(ctx), { messageId, recipientId });
    },
  })
  async messageStatusChanged(
    @Root() event: StatusEvent,
    @Ctx() ctx: Context,
    @Arg('messageId', () => ID, { nullable: true }) _messageId?: string | null,
    @Arg('recipientId', () => ID, { nullable: true }) _recipientId?: string | null,
  ) {
    const row = await ctx.services.messageEvents.messageOf(tenantOf(ctx), event);
    if (!row) throw new Error(`message ${event.id} changed status but is gone`);
    // The status this event announced, even if the message has moved on since.
    return { ...toMessageView(row), status: event.status };
  }
}
