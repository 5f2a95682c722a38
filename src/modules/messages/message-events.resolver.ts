import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Resolver, Root, Subscription } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { MessageStatus } from '../../graphql/enums.js';
import { fromGlobalId } from '../../lib/ids.js';
import type { CatchUp, StatusEvent } from '../../realtime/status-hub.js';
import { currentStatusOf, newestOfRecipient } from './message-events.queries.js';
import { toMessageView } from './messages.service.js';
import { Message } from './messages.types.js';
import * as q from './messages.queries.js';

// After the process's listener was down, a recipient's subscriber is sent the current status
// of those of the recipient's newest messages that changed since the gap began. Bounded: a
// change to an older message during the gap is not replayed. updated_at is written by every
// process's own clock, hence the margin.
const CATCH_UP_MESSAGES = 100;
const CLOCK_MARGIN_MS = 5_000;

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
      const db = ctx.services.db;
      // What the subscriber watches, as it is now: that message, or the recipient's recent changes.
      const catchUp: CatchUp = async (since) => {
        if (message) {
          const row = await currentStatusOf(db, tenantId, message);
          return row && (!recipient || row.recipientId === recipient) ? [row] : [];
        }
        const after = since.getTime() - CLOCK_MARGIN_MS;
        const rows = await newestOfRecipient(db, tenantId, recipient!, CATCH_UP_MESSAGES);
        return rows.filter((r) => r.updatedAt.getTime() >= after).sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
      };
      return ctx.services.statusHub.subscribe(
        (e) => e.tenantId === tenantId && (!message || e.id === message) && (!recipient || e.recipientId === recipient),
        message === 'none' || recipient === 'none' ? undefined : catchUp,
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
