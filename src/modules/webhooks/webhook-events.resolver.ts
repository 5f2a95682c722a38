import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { PagingArgs, pageRequest, toConnection } from '../../graphql/connection.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { Message } from '../messages/messages.types.js';
import { toMessageView } from '../messages/messages.views.js';
import { WebhookEndpoint } from './webhook-endpoints.types.js';
import { toWebhookEndpointView } from './webhook-endpoints.views.js';
import {
  RedeliverWebhookEventInput,
  RedeliverWebhookEventPayload,
  SendTestWebhookEventInput,
  SendTestWebhookEventPayload,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookDeliveryFilter,
  WebhookEvent,
} from './webhook-events.types.js';
import { toWebhookDeliveryView, toWebhookEventView } from './webhook-events.views.js';

@Resolver(() => WebhookEvent)
@UseMiddleware(RefusalsAsUserErrors)
export class WebhookEventsResolver {
  @Authorized(Role.ADMIN)
  @Query(() => WebhookDeliveryConnection, { description: 'ADMIN only. Every attempt to deliver an event, newest first.' })
  async webhookDeliveries(
    @Ctx() ctx: Context,
    @Args() paging: PagingArgs,
    @Arg('filter', () => WebhookDeliveryFilter, { nullable: true }) filter?: WebhookDeliveryFilter | null,
  ) {
    const page = pageRequest(paging, 'WebhookDelivery');
    return toConnection(ctx.services.webhookEvents.deliveries(tenantOf(ctx), filter ?? {}), page, toWebhookDeliveryView);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RedeliverWebhookEventPayload, {
    description: 'ADMIN only. Sends the event again, now, with the same webhook-id and body, retried as a new event is.',
  })
  async redeliverWebhookEvent(@Ctx() ctx: Context, @Arg('input') input: RedeliverWebhookEventInput): Promise<RedeliverWebhookEventPayload> {
    const event = await ctx.services.webhookEvents.redeliver(tenantOf(ctx), input.eventId, input.endpointId);
    return { event: toWebhookEventView(event), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => SendTestWebhookEventPayload, {
    description:
      'ADMIN only. Sends the endpoint a made-up event of its first event type, signed like any other, with "test": true in the body.',
  })
  async sendTestWebhookEvent(@Ctx() ctx: Context, @Arg('input') input: SendTestWebhookEventInput): Promise<SendTestWebhookEventPayload> {
    const event = await ctx.services.webhookEvents.sendTest(tenantOf(ctx), input.endpointId);
    return { event: toWebhookEventView(event), userErrors: [] };
  }

  @FieldResolver(() => Message, { nullable: true, description: 'Null for a test event.' })
  async message(@Root() event: WebhookEvent, @Ctx() ctx: Context) {
    const row = event.messageDbId ? await ctx.loaders.messageById.load(event.messageDbId) : undefined;
    return row ? toMessageView(row) : null;
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveriesResolver {
  @FieldResolver(() => WebhookEndpoint)
  async endpoint(@Root() delivery: WebhookDelivery, @Ctx() ctx: Context) {
    const row = await ctx.loaders.webhookEndpointById.load(delivery.endpointDbId);
    if (!row) throw new Error(`delivery names endpoint ${delivery.endpointDbId}, which is gone`);
    return toWebhookEndpointView(row);
  }

  @FieldResolver(() => WebhookEvent)
  async event(@Root() delivery: WebhookDelivery, @Ctx() ctx: Context) {
    const row = await ctx.loaders.webhookEventById.load(delivery.eventDbId);
    if (!row) throw new Error(`delivery names event ${delivery.eventDbId}, which is gone`);
    return toWebhookEventView(row);
  }
}
