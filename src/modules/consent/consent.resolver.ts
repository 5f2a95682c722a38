import { Arg, Authorized, Ctx, Mutation, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toTenantView } from '../tenants/tenants.views.js';
import { SetQuietHoursInput, SetQuietHoursPayload, UpdateConsentSettingsInput, UpdateConsentSettingsPayload } from './consent.types.js';

@Resolver()
@UseMiddleware(RefusalsAsUserErrors)
export class ConsentResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateConsentSettingsPayload, { description: 'ADMIN only.' })
  async updateConsentSettings(@Ctx() ctx: Context, @Arg('input') input: UpdateConsentSettingsInput): Promise<UpdateConsentSettingsPayload> {
    const tenant = await ctx.services.consent.updateSettings(tenantOf(ctx), input);
    return { tenant: toTenantView(tenant), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => SetQuietHoursPayload, { description: 'ADMIN only.' })
  async setQuietHours(@Ctx() ctx: Context, @Arg('input') input: SetQuietHoursInput): Promise<SetQuietHoursPayload> {
    const tenant = await ctx.services.consent.setQuietHours(tenantOf(ctx), input);
    return { tenant: toTenantView(tenant), userErrors: [] };
  }
}
