import { Arg, Authorized, Ctx, ID, Resolver, Root, Subscription } from 'type-graphql';
import { Refusal } from '../../domain/refusal.js';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { badUserInput } from '../../graphql/errors.js';
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
    description: [
      'Status changes, each with the message as it is then, never one older than the last sent.',
      'With messageId: the message as it is now first, then every later status.',
      'With recipientId: every status (SCHEDULED and QUEUED included) of every message to the recipient from the moment',
      'the subscription is accepted, so a subscription opened before sending sees everything.',
      'At least one argument; an id that names no message or recipient of this tenant is refused (BAD_USER_INPUT).',
    ].join(' '),
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const { messageId, recipientId } = args as SubscriptionArgs;
      if (!messageId && !recipientId) throw badUserInput('messageStatusChanged needs messageId or recipientId');
      try {
        return await ctx.services.messageEvents.watch(tenantOf(ctx), { messageId, recipientId });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        const [first] = error.userErrors;
        throw badUserInput(first.message, first.field ?? undefined);
      }
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
    // The status this event announced, and its time, even if the message has moved on since.
    return { ...toMessageView(row), status: event.status, updatedAt: new Date(event.at) };
  }
}
