import { Arg, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toGatewayView } from '../gateways/gateways.views.js';
import { Gateway } from '../gateways/gateways.types.js';
import { toRecipientView } from '../recipients/recipients.views.js';
import { ChannelSubscription, SubscribeInput, SubscribePayload, UnsubscribeInput, UnsubscribePayload } from './subscriptions.types.js';

@Resolver(() => ChannelSubscription)
@UseMiddleware(RefusalsAsUserErrors)
export class SubscriptionsResolver {
  @Authorized(Role.SEND)
  @Mutation(() => SubscribePayload)
  async subscribe(@Ctx() ctx: Context, @Arg('input') input: SubscribeInput): Promise<SubscribePayload> {
    const recipient = await ctx.services.subscriptions.subscribe(tenantOf(ctx), input);
    return { recipient: toRecipientView(recipient), userErrors: [] };
  }

  @Authorized(Role.SEND)
  @Mutation(() => UnsubscribePayload)
  async unsubscribe(@Ctx() ctx: Context, @Arg('input') input: UnsubscribeInput): Promise<UnsubscribePayload> {
    const recipient = await ctx.services.subscriptions.unsubscribe(tenantOf(ctx), input);
    return { recipient: toRecipientView(recipient), userErrors: [] };
  }

  @FieldResolver(() => Gateway)
  async gateway(@Root() subscription: ChannelSubscription, @Ctx() ctx: Context) {
    const row = await ctx.loaders.gatewayById.load(subscription.gatewayDbId);
    if (!row) throw new Error(`subscription names gateway ${subscription.gatewayDbId}, which is gone`);
    return toGatewayView(row);
  }
}
