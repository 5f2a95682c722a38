import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { PagingArgs, pageRequest, toConnection } from '../../graphql/connection.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { nonEmptyFilter } from '../../graphql/filters.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toGatewayView } from '../gateways/gateways.views.js';
import { Gateway } from '../gateways/gateways.types.js';
import { toRecipientView } from '../recipients/recipients.views.js';
import { Recipient } from '../recipients/recipients.types.js';
import { Template } from '../templates/templates.types.js';
import { toTemplateView } from '../templates/templates.views.js';
import { toDeliveryLogView, toMessageView } from './messages.views.js';
import {
  CancelMessageInput,
  CancelMessagePayload,
  DeliveryLog,
  DeliveryLogConnection,
  DeliveryLogFilter,
  Message,
  MessageConnection,
  MessageFilter,
  RetryMessageInput,
  RetryMessagePayload,
  SendSmsInput,
  SendSmsPayload,
} from './messages.types.js';

@Resolver(() => Message)
@UseMiddleware(RefusalsAsUserErrors)
export class MessagesResolver {
  @Authorized(Role.READ)
  @Query(() => Message, { nullable: true })
  async message(@Ctx() ctx: Context, @Arg('id', () => ID) id: string) {
    const row = await ctx.services.messages.get(tenantOf(ctx), id);
    return row ? toMessageView(row) : null;
  }

  @Authorized(Role.READ)
  @Query(() => MessageConnection)
  async messages(
    @Ctx() ctx: Context,
    @Args() paging: PagingArgs,
    @Arg('filter', () => MessageFilter, { nullable: true }) filter?: MessageFilter | null,
  ) {
    const page = pageRequest(paging, 'Message');
    return toConnection(ctx.services.messages.page(tenantOf(ctx), nonEmptyFilter(filter)), page, toMessageView);
  }

  @Authorized(Role.READ)
  @Query(() => DeliveryLogConnection)
  async deliveryLogs(
    @Ctx() ctx: Context,
    @Args() paging: PagingArgs,
    @Arg('filter', () => DeliveryLogFilter, { nullable: true }) filter?: DeliveryLogFilter | null,
  ) {
    const page = pageRequest(paging, 'DeliveryLog');
    return toConnection(ctx.services.messages.logPage(tenantOf(ctx), nonEmptyFilter(filter)), page, toDeliveryLogView);
  }

  @Authorized(Role.SEND)
  @Mutation(() => SendSmsPayload)
  async sendSms(@Ctx() ctx: Context, @Arg('input') input: SendSmsInput): Promise<SendSmsPayload> {
    const row = await ctx.services.messages.sendSms(tenantOf(ctx), input);
    return { message: toMessageView(row), userErrors: [] };
  }

  @Authorized(Role.SEND)
  @Mutation(() => CancelMessagePayload)
  async cancelMessage(@Ctx() ctx: Context, @Arg('input') input: CancelMessageInput): Promise<CancelMessagePayload> {
    return { message: toMessageView(await ctx.services.messages.cancel(tenantOf(ctx), input.id)), userErrors: [] };
  }

  @Authorized(Role.SEND)
  @Mutation(() => RetryMessagePayload)
  async retryMessage(@Ctx() ctx: Context, @Arg('input') input: RetryMessageInput): Promise<RetryMessagePayload> {
    return { message: toMessageView(await ctx.services.messages.retry(tenantOf(ctx), input.id)), userErrors: [] };
  }

  @FieldResolver(() => Recipient)
  async recipient(@Root() message: Message, @Ctx() ctx: Context) {
    const row = await ctx.loaders.recipientById.load(message.recipientDbId);
    if (!row) throw new Error(`message names recipient ${message.recipientDbId}, which is gone`);
    return toRecipientView(row);
  }

  @FieldResolver(() => Gateway, { nullable: true })
  async gateway(@Root() message: Message, @Ctx() ctx: Context) {
    const row = message.gatewayDbId ? await ctx.loaders.gatewayById.load(message.gatewayDbId) : undefined;
    return row ? toGatewayView(row) : null;
  }

  @FieldResolver(() => Template, { nullable: true })
  async template(@Root() message: Message, @Ctx() ctx: Context) {
    const row = message.templateDbId ? await ctx.loaders.templateById.load(message.templateDbId) : undefined;
    return row ? toTemplateView(row) : null;
  }

  @FieldResolver(() => [DeliveryLog])
  async logs(@Root() message: Message, @Ctx() ctx: Context) {
    return (await ctx.loaders.logsByMessage.load(message.dbId)).map(toDeliveryLogView);
  }

  @FieldResolver(() => Message, { nullable: true })
  async fallbackOf(@Root() message: Message, @Ctx() ctx: Context) {
    const row = message.fallbackOfDbId ? await ctx.loaders.messageById.load(message.fallbackOfDbId) : undefined;
    return row ? toMessageView(row) : null;
  }

  @FieldResolver(() => [Message])
  async fallbacks(@Root() message: Message, @Ctx() ctx: Context) {
    return (await ctx.loaders.fallbacksByMessage.load(message.dbId)).map(toMessageView);
  }
}

@Resolver(() => DeliveryLog)
export class DeliveryLogsResolver {
  @FieldResolver(() => Message, { nullable: true })
  async message(@Root() log: DeliveryLog, @Ctx() ctx: Context) {
    const row = log.messageDbId ? await ctx.loaders.messageById.load(log.messageDbId) : undefined;
    return row ? toMessageView(row) : null;
  }

  @FieldResolver(() => Recipient, { nullable: true })
  async recipient(@Root() log: DeliveryLog, @Ctx() ctx: Context) {
    const row = log.recipientDbId ? await ctx.loaders.recipientById.load(log.recipientDbId) : undefined;
    return row ? toRecipientView(row) : null;
  }

  @FieldResolver(() => Gateway, { nullable: true })
  async gateway(@Root() log: DeliveryLog, @Ctx() ctx: Context) {
    const row = log.gatewayDbId ? await ctx.loaders.gatewayById.load(log.gatewayDbId) : undefined;
    return row ? toGatewayView(row) : null;
  }
}
