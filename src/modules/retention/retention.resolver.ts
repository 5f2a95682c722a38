import { Arg, Authorized, Ctx, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { Refusal } from '../../domain/refusal.js';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { badUserInput } from '../../graphql/errors.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toTenantView } from '../tenants/tenants.views.js';
import { DailyStat, SetRetentionInput, SetRetentionPayload, StatsInput } from './retention.types.js';

@Resolver()
@UseMiddleware(RefusalsAsUserErrors)
export class RetentionResolver {
  @Authorized(Role.READ)
  @Query(() => [DailyStat], {
    description:
      "The tenant's messages by day created (UTC), channel and current status, the days whose messages were purged included: the rows still stored and the counts kept of those purged add up.",
  })
  async stats(@Ctx() ctx: Context, @Arg('input') input: StatsInput): Promise<DailyStat[]> {
    try {
      return await ctx.services.retention.stats(tenantOf(ctx), input);
    } catch (error) {
      // A query has no userErrors: days that are not a range are the caller's mistake.
      if (!(error instanceof Refusal)) throw error;
      const [first] = error.userErrors;
      throw badUserInput(first.message, first.field ?? undefined);
    }
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => SetRetentionPayload, { description: 'ADMIN only (its own tenant); the operator for any tenant.' })
  async setRetention(@Ctx() ctx: Context, @Arg('input') input: SetRetentionInput): Promise<SetRetentionPayload> {
    const caller = { tenantId: tenantOf(ctx), isOperator: ctx.auth?.isOperator === true };
    const tenant = await ctx.services.retention.setRetention(caller, input);
    ctx.log.info({ tenantId: tenant.id, retentionDays: tenant.retentionDays, byApiKeyId: ctx.auth?.apiKeyId }, 'retention set');
    return { tenant: toTenantView(tenant), userErrors: [] };
  }
}
