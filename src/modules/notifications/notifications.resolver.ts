import { Arg, Authorized, Ctx, Mutation, Resolver, UseMiddleware } from 'type-graphql';
import { MAX_NOTIFICATIONS_PER_CALL } from '../../domain/limits.js';
import { invalid } from '../../domain/refusal.js';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toMessageView } from '../messages/messages.views.js';
import { SendNotificationInput, SendNotificationPayload, SendNotificationsInput, SendNotificationsPayload } from './notifications.types.js';

@Resolver()
@UseMiddleware(RefusalsAsUserErrors)
export class NotificationsResolver {
  @Authorized(Role.SEND)
  @Mutation(() => SendNotificationPayload)
  async sendNotification(@Ctx() ctx: Context, @Arg('input') input: SendNotificationInput): Promise<SendNotificationPayload> {
    const row = await ctx.services.notifications.send(tenantOf(ctx), input);
    return { message: toMessageView(row), userErrors: [] };
  }

  @Authorized(Role.SEND)
  @Mutation(() => SendNotificationsPayload, { description: 'One send per item, each accepted or refused on its own (partial success).' })
  async sendNotifications(@Ctx() ctx: Context, @Arg('input') input: SendNotificationsInput): Promise<SendNotificationsPayload> {
    if (input.items.length === 0) throw invalid(['input', 'items'], 'give at least one item');
    if (input.items.length > MAX_NOTIFICATIONS_PER_CALL) {
      throw invalid(
        ['input', 'items'],
        `at most ${MAX_NOTIFICATIONS_PER_CALL} items per call, got ${input.items.length}: split them into several calls`,
      );
    }
    const results = await ctx.services.notifications.sendMany(tenantOf(ctx), input.items);
    const queued = results.filter((r) => r.message).length;
    return {
      results: results.map((r) => ({ index: r.index, message: r.message ? toMessageView(r.message) : null, userErrors: r.userErrors })),
      queued,
      rejected: results.length - queued,
      userErrors: [],
    };
  }
}
