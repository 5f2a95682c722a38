import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { Node } from '../../graphql/common.types.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { fromGlobalId } from '../../lib/ids.js';
import { toApiKeyView } from '../api-keys/api-keys.views.js';
import { toGatewayView } from '../gateways/gateways.views.js';
import { toDeliveryLogView, toMessageView } from '../messages/messages.views.js';
import { toTemplateView } from '../templates/templates.views.js';
import { toRecipientView } from '../recipients/recipients.views.js';
import { toWebhookEndpointView } from '../webhooks/webhook-endpoints.views.js';
import { toWebhookDeliveryView, toWebhookEventView } from '../webhooks/webhook-events.views.js';
import { toSuppressionView } from '../suppressions/suppressions.views.js';
import { toTenantView } from './tenants.views.js';
import { CreateTenantInput, CreateTenantPayload, Tenant } from './tenants.types.js';

@Resolver(() => Tenant)
@UseMiddleware(RefusalsAsUserErrors)
export class TenantsResolver {
  @Authorized(Role.READ)
  @Query(() => Tenant, { description: 'The tenant of the calling API key.' })
  async viewer(@Ctx() ctx: Context) {
    const row = await ctx.services.tenants.get(tenantOf(ctx));
    if (!row) throw new Error('the API key names a tenant that does not exist');
    return toTenantView(row);
  }

  /** Any object of the caller's tenant by its id; another tenant's, or a malformed id, is null. */
  @Authorized(Role.READ)
  @Query(() => Node, { nullable: true })
  async node(@Ctx() ctx: Context, @Arg('id', () => ID) id: string) {
    const ref = fromGlobalId(id);
    const tenantId = tenantOf(ctx);
    if (!ref) return null;
    switch (ref.type) {
      case 'Tenant':
        return ref.uuid === tenantId ? this.viewer(ctx) : null;
      case 'Recipient': {
        const row = await ctx.services.recipients.get(tenantId, id);
        return row ? toRecipientView(row) : null;
      }
      case 'Gateway': {
        const row = await ctx.services.gateways.get(tenantId, id);
        return row ? toGatewayView(row) : null;
      }
      case 'Message': {
        const row = await ctx.services.messages.get(tenantId, id);
        return row ? toMessageView(row) : null;
      }
      case 'ApiKey': {
        // Keys are listed to ADMIN keys only; to others an ApiKey id names nothing.
        if (ctx.auth?.role !== 'ADMIN') return null;
        const row = await ctx.services.apiKeys.get(tenantId, ref.uuid);
        return row ? toApiKeyView(row) : null;
      }
      case 'Template': {
        const found = await ctx.services.templates.get(tenantId, id);
        return found ? toTemplateView(found.template, found.version) : null;
      }
      case 'DeliveryLog': {
        const row = await ctx.services.messages.getLog(tenantId, id);
        return row ? toDeliveryLogView(row) : null;
      }
      case 'WebhookEndpoint': {
        // Endpoints are managed by ADMIN keys only; to others their ids name nothing.
        if (ctx.auth?.role !== 'ADMIN') return null;
        const row = await ctx.services.webhookEndpoints.get(tenantId, id);
        return row ? toWebhookEndpointView(row) : null;
      }
      case 'WebhookEvent': {
        if (ctx.auth?.role !== 'ADMIN') return null;
        const row = await ctx.services.webhookEvents.getEvent(tenantId, id);
        return row ? toWebhookEventView(row) : null;
      }
      case 'WebhookDelivery': {
        if (ctx.auth?.role !== 'ADMIN') return null;
        const row = await ctx.services.webhookEvents.getDelivery(tenantId, id);
        return row ? toWebhookDeliveryView(row) : null;
      }
      case 'Suppression': {
        const row = await ctx.services.suppressions.get(tenantId, id);
        return row ? toSuppressionView(row) : null;
      }
      default:
        return null;
    }
  }

  @Authorized(Role.OPERATOR)
  @Mutation(() => CreateTenantPayload, {
    description: 'Operator only: an ADMIN key of the default tenant. A new tenant starts with a SANDBOX gateway on every channel.',
  })
  async createTenant(@Ctx() ctx: Context, @Arg('input') input: CreateTenantInput): Promise<CreateTenantPayload> {
    const { tenant, adminKey } = await ctx.services.tenants.create(input.name);
    ctx.log.info({ tenantId: tenant.id }, 'tenant created');
    return { tenant: toTenantView(tenant), adminKey, userErrors: [] };
  }
}
