import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { PagingArgs, pageRequest, toConnection } from '../../graphql/connection.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { nonEmptyFilter } from '../../graphql/filters.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import type { Channel } from '../../domain/enums.js';
import { maskDestination } from '../../lib/mask.js';
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

  @FieldResolver(() => String, { nullable: true })
  phone(@Root() recipient: Recipient, @Ctx() ctx: Context): string | null {
    return contactAsSeenBy(ctx, 'SMS', recipient.phone);
  }

  @FieldResolver(() => String, { nullable: true })
  email(@Root() recipient: Recipient, @Ctx() ctx: Context): string | null {
    return contactAsSeenBy(ctx, 'EMAIL', recipient.email);
  }

  @FieldResolver(() => String, { nullable: true })
  whatsapp(@Root() recipient: Recipient, @Ctx() ctx: Context): string | null {
    return contactAsSeenBy(ctx, 'WHATSAPP', recipient.whatsapp);
  }

  @FieldResolver(() => [ChannelSubscription])
  async subscriptions(@Root() recipient: Recipient, @Ctx() ctx: Context): Promise<ChannelSubscription[]> {
    const rows = await ctx.loaders.subscriptionsByRecipient.load(recipient.dbId);
    return rows.map((r) => ({ channel: r.channel, gatewayDbId: r.gatewayId, createdAt: r.createdAt }) as ChannelSubscription);
  }
}

/**
 * A contact field as the caller may see it: whole for the roles that send to it (SENDER,
 * ADMIN), masked like Message.destination for any other (a READER reads the tenant's
 * traffic, and needs to tell recipients apart, not to reach them).
 */
function contactAsSeenBy(ctx: Context, channel: Channel, value: string | null | undefined): string | null {
  if (value == null) return null;
  const role = ctx.auth?.role;
  return role && (Role.SEND as readonly string[]).includes(role) ? value : maskDestination(channel, value);
}
