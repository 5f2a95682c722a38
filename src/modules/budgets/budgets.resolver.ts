import { Arg, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import type { Context } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { Tenant } from '../tenants/tenants.types.js';
import { toTenantView } from '../tenants/tenants.views.js';
import { SendBudget, SetSendBudgetInput, SetSendBudgetPayload } from './budgets.types.js';

@Resolver(() => Tenant)
@UseMiddleware(RefusalsAsUserErrors)
export class BudgetsResolver {
  @FieldResolver(() => SendBudget, { description: 'Its send budgets and what the current windows used.' })
  async sendBudget(@Root() tenant: Tenant & { dbId: string }, @Ctx() ctx: Context): Promise<SendBudget> {
    return ctx.services.budgets.view(tenant.dbId);
  }

  @Authorized(Role.OPERATOR)
  @Mutation(() => SetSendBudgetPayload, { description: "Operator only: sets a tenant's send budgets." })
  async setSendBudget(@Ctx() ctx: Context, @Arg('input') input: SetSendBudgetInput): Promise<SetSendBudgetPayload> {
    const { tenant, budget } = await ctx.services.tenants.setSendBudget(input);
    ctx.log.info({ tenantId: tenant.id, budget }, 'send budget set');
    return { tenant: toTenantView(tenant), sendBudget: budget, userErrors: [] };
  }
}
