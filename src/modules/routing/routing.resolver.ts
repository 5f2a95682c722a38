import { Arg, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { ChannelInfo, Gateway } from '../gateways/gateways.types.js';
import { toChannelInfo } from '../gateways/gateways.views.js';
import { ChannelRoute, GatewayHealth, SetChannelRoutingInput, SetChannelRoutingPayload } from './routing.types.js';

@Resolver(() => ChannelInfo)
@UseMiddleware(RefusalsAsUserErrors)
export class RoutingResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => SetChannelRoutingPayload, {
    description: "ADMIN only. Which of the channel's gateways its sends use, and how they share them; failover follows the order.",
  })
  async setChannelRouting(@Ctx() ctx: Context, @Arg('input') input: SetChannelRoutingInput): Promise<SetChannelRoutingPayload> {
    const tenantId = tenantOf(ctx);
    await ctx.services.routing.set(tenantId, input);
    const [channel] = await ctx.services.gateways.channels(tenantId, [input.channel]);
    return { channel: toChannelInfo(channel), userErrors: [] };
  }

  @FieldResolver(() => [ChannelRoute], {
    description: 'The gateways sends on this channel may use, in priority order (PRIORITY) or with weights (WEIGHTED).',
  })
  routes(@Root() info: ChannelInfo): ChannelRoute[] {
    return info.routeRows;
  }
}

@Resolver(() => Gateway)
export class GatewayHealthResolver {
  @FieldResolver(() => GatewayHealth)
  async health(@Root() gateway: Gateway, @Ctx() ctx: Context): Promise<GatewayHealth> {
    return ctx.services.routing.healthView(await ctx.loaders.healthByGateway.load(gateway.dbId));
  }
}
