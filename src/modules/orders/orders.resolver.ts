import { Arg, Authorized, Ctx, Mutation, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toDeliveryLogView, toMessageView } from '../messages/messages.views.js';
import { UpdateOrderStatusInput, UpdateOrderStatusPayload } from './orders.types.js';

@Resolver()
@UseMiddleware(RefusalsAsUserErrors)
export class OrdersResolver {
  @Authorized(Role.SEND)
  @Mutation(() => UpdateOrderStatusPayload)
  async updateOrderStatus(@Ctx() ctx: Context, @Arg('input') input: UpdateOrderStatusInput): Promise<UpdateOrderStatusPayload> {
    const { messages, failures, replayed } = await ctx.services.orders.updateOrderStatus(tenantOf(ctx), input);
    ctx.log.info({ orderId: input.orderId, messages: messages.length, failures: failures.length, replayed }, 'order status notified');
    return { messages: messages.map(toMessageView), failures: failures.map(toDeliveryLogView), userErrors: [] };
  }
}
