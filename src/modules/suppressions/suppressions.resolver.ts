import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { PagingArgs, pageRequest, toConnection } from '../../graphql/connection.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { nonEmptyFilter } from '../../graphql/filters.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toGlobalId } from '../../lib/ids.js';
import { Recipient } from '../recipients/recipients.types.js';
import { toRecipientView } from '../recipients/recipients.views.js';
import {
  AddSuppressionInput,
  AddSuppressionPayload,
  RemoveSuppressionInput,
  RemoveSuppressionPayload,
  Suppression,
  SuppressionConnection,
  SuppressionFilter,
} from './suppressions.types.js';
import { toSuppressionView } from './suppressions.views.js';

@Resolver(() => Suppression)
@UseMiddleware(RefusalsAsUserErrors)
export class SuppressionsResolver {
  @Authorized(Role.READ)
  @Query(() => SuppressionConnection, { description: "The tenant's suppression list, newest first." })
  async suppressions(
    @Ctx() ctx: Context,
    @Args() paging: PagingArgs,
    @Arg('filter', () => SuppressionFilter, { nullable: true }) filter?: SuppressionFilter | null,
  ) {
    const page = pageRequest(paging, 'Suppression');
    return toConnection(ctx.services.suppressions.page(tenantOf(ctx), nonEmptyFilter(filter)), page, toSuppressionView);
  }

  @Authorized(Role.SEND)
  @Mutation(() => AddSuppressionPayload, {
    description:
      'SENDER or ADMIN. Lists a destination on the channel: sends to it of the categories listed are refused (RECIPIENT_SUPPRESSED), and messages to it still waiting end FAILED. A destination already listed keeps its entry, with these categories added.',
  })
  async addSuppression(@Ctx() ctx: Context, @Arg('input') input: AddSuppressionInput): Promise<AddSuppressionPayload> {
    const row = await ctx.services.suppressions.add(tenantOf(ctx), input);
    return { suppression: toSuppressionView(row), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RemoveSuppressionPayload, {
    description: 'ADMIN only: messaging a person who opted out again is a decision for the account owner.',
  })
  async removeSuppression(@Ctx() ctx: Context, @Arg('input') input: RemoveSuppressionInput): Promise<RemoveSuppressionPayload> {
    const uuid = await ctx.services.suppressions.remove(tenantOf(ctx), input.id);
    ctx.log.info({ tenantId: tenantOf(ctx), suppressionId: uuid, byApiKeyId: ctx.auth?.apiKeyId }, 'suppression removed');
    return { removedId: toGlobalId('Suppression', uuid), userErrors: [] };
  }

  @FieldResolver(() => Recipient, { nullable: true })
  async recipient(@Root() suppression: Suppression, @Ctx() ctx: Context) {
    const row = suppression.recipientDbId ? await ctx.loaders.recipientById.load(suppression.recipientDbId) : undefined;
    return row ? toRecipientView(row) : null;
  }
}
