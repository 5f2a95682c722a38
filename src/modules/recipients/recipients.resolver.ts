import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { PagingArgs, pageRequest, toConnection } from '../../graphql/connection.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { nonEmptyFilter } from '../../graphql/filters.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { ChannelSubscription } from '../subscriptions/subscriptions.types.js';
import { toRecipientView } from './recipients.views.js';
import {
  CreateRecipientInput,
  CreateRecipientPayload,
  Recipient,
  RecipientConnection,
  RecipientFilter,
  UpdateRecipientInput,
  UpdateRecipientPayload,
} from './recipients.types.js';

@Resolver(() => Recipient)
@UseMiddleware(RefusalsAsUserErrors)
export class RecipientsResolver {
  @Authorized(Role.READ)
  @Query(() => Recipient, { nullable: true })
  async recipient(@Ctx() ctx: Context, @Arg('id', () => ID) id: string) {
    const row = await ctx.services.recipients.get(tenantOf(ctx), id);
    return row ? toRecipientView(row) : null;
  }

  @Authorized(Role.READ)
  @Query(() => RecipientConnection)
  async recipients(
    @Ctx() ctx: Context,
    @Args() paging: PagingArgs,
    @Arg('filter', () => RecipientFilter, { nullable: true }) filter?: RecipientFilter | null,
  ) {
    const page = pageRequest(paging, 'Recipient');
    return toConnection(ctx.services.recipients.page(tenantOf(ctx), nonEmptyFilter(filter)), page, toRecipientView);
  }

  @Authorized(Role.SEND)
  @Mutation(() => CreateRecipientPayload)
  async createRecipient(@Ctx() ctx: Context, @Arg('input') input: CreateRecipientInput): Promise<CreateRecipientPayload> {
    const row = await ctx.services.recipients.create(tenantOf(ctx), input);
    return { recipient: toRecipientView(row), userErrors: [] };
  }

  @Authorized(Role.SEND)
  @Mutation(() => UpdateRecipientPayload)
  async updateRecipient(@Ctx() ctx: Context, @Arg('input') input: UpdateRecipientInput): Promise<UpdateRecipientPayload> {
    const row = await ctx.services.recipients.update(tenantOf(ctx), input);
    return { recipient: toRecipientView(row), userErrors: [] };
  }

  @FieldResolver(() => [ChannelSubscription])
  async subscriptions(@Root() recipient: Recipient, @Ctx() ctx: Context): Promise<ChannelSubscription[]> {
    const rows = await ctx.loaders.subscriptionsByRecipient.load(recipient.dbId);
    return rows.map((r) => ({ channel: r.channel, gatewayDbId: r.gatewayId, createdAt: r.createdAt }) as ChannelSubscription);
  }
}
