import { Arg, Authorized, Ctx, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toGlobalId } from '../../lib/ids.js';
import {
  CreateWebhookEndpointInput,
  CreateWebhookEndpointPayload,
  DeleteWebhookEndpointInput,
  DeleteWebhookEndpointPayload,
  RotateWebhookSecretInput,
  RotateWebhookSecretPayload,
  UpdateWebhookEndpointInput,
  UpdateWebhookEndpointPayload,
  WebhookEndpoint,
} from './webhook-endpoints.types.js';
import { toWebhookEndpointView } from './webhook-endpoints.views.js';

@Resolver(() => WebhookEndpoint)
@UseMiddleware(RefusalsAsUserErrors)
export class WebhookEndpointsResolver {
  @Authorized(Role.ADMIN)
  @Query(() => [WebhookEndpoint], { description: 'ADMIN only.' })
  async webhookEndpoints(@Ctx() ctx: Context): Promise<WebhookEndpoint[]> {
    return (await ctx.services.webhookEndpoints.list(tenantOf(ctx))).map(toWebhookEndpointView);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateWebhookEndpointPayload, { description: 'ADMIN only. A new endpoint, enabled, and its signing secret.' })
  async createWebhookEndpoint(@Ctx() ctx: Context, @Arg('input') input: CreateWebhookEndpointInput): Promise<CreateWebhookEndpointPayload> {
    const made = await ctx.services.webhookEndpoints.create(tenantOf(ctx), input);
    return { endpoint: toWebhookEndpointView(made.endpoint), secret: made.secret, userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateWebhookEndpointPayload, { description: 'ADMIN only.' })
  async updateWebhookEndpoint(@Ctx() ctx: Context, @Arg('input') input: UpdateWebhookEndpointInput): Promise<UpdateWebhookEndpointPayload> {
    return { endpoint: toWebhookEndpointView(await ctx.services.webhookEndpoints.update(tenantOf(ctx), input)), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => DeleteWebhookEndpointPayload, { description: 'ADMIN only.' })
  async deleteWebhookEndpoint(@Ctx() ctx: Context, @Arg('input') input: DeleteWebhookEndpointInput): Promise<DeleteWebhookEndpointPayload> {
    const uuid = await ctx.services.webhookEndpoints.delete(tenantOf(ctx), input.id);
    return { deletedId: toGlobalId('WebhookEndpoint', uuid), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RotateWebhookSecretPayload, {
    description: 'ADMIN only. A new signing secret; the previous one keeps signing beside it for 24 hours.',
  })
  async rotateWebhookSecret(@Ctx() ctx: Context, @Arg('input') input: RotateWebhookSecretInput): Promise<RotateWebhookSecretPayload> {
    const made = await ctx.services.webhookEndpoints.rotateSecret(tenantOf(ctx), input.id);
    return { endpoint: toWebhookEndpointView(made.endpoint), secret: made.secret, userErrors: [] };
  }
}
