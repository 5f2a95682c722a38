import { Arg, Authorized, Ctx, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { Channel } from '../../graphql/enums.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toChannelInfo, toGatewayView } from './gateways.views.js';
import {
  AddChannelGatewayInput,
  AddChannelGatewayPayload,
  ChannelInfo,
  Gateway,
  UpdateGatewayInput,
  UpdateGatewayPayload,
} from './gateways.types.js';

@Resolver(() => Gateway)
@UseMiddleware(RefusalsAsUserErrors)
export class GatewaysResolver {
  @Authorized(Role.READ)
  @Query(() => [ChannelInfo], { description: 'Every channel with the gateways configured for it.' })
  async channels(@Ctx() ctx: Context) {
    return (await ctx.services.gateways.channels(tenantOf(ctx))).map(toChannelInfo);
  }

  @Authorized(Role.READ)
  @Query(() => [Gateway])
  async gateways(@Ctx() ctx: Context, @Arg('channel', () => Channel, { nullable: true }) channel?: Channel | null) {
    return (await ctx.services.gateways.list(tenantOf(ctx), channel)).map(toGatewayView);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => AddChannelGatewayPayload)
  async addChannelGateway(@Ctx() ctx: Context, @Arg('input') input: AddChannelGatewayInput): Promise<AddChannelGatewayPayload> {
    const row = await ctx.services.gateways.add(tenantOf(ctx), input);
    ctx.log.info({ gatewayId: row.id, channel: row.channel, provider: row.provider }, 'gateway added');
    return { gateway: toGatewayView(row), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateGatewayPayload, {
    description: 'Enable or disable a gateway, make it its channel default, change its send rate, or replace its credentials.',
  })
  async updateGateway(@Ctx() ctx: Context, @Arg('input') input: UpdateGatewayInput): Promise<UpdateGatewayPayload> {
    const row = await ctx.services.gateways.update(tenantOf(ctx), input);
    ctx.log.info(
      { gatewayId: row.id, enabled: row.enabled, isDefault: row.isDefault, credentialsReplaced: input.credentials != null },
      'gateway updated',
    );
    return { gateway: toGatewayView(row), userErrors: [] };
  }
}
