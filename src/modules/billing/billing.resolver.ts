import { Arg, Authorized, Ctx, Mutation, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toMessageView } from '../messages/messages.views.js';
import { NotifyBillingCycleInput, NotifyBillingCyclePayload, SendInvoiceDMInput, SendInvoiceDMPayload } from './billing.types.js';

@Resolver()
@UseMiddleware(RefusalsAsUserErrors)
export class BillingResolver {
  @Authorized(Role.SEND)
  @Mutation(() => SendInvoiceDMPayload)
  async sendInvoiceDM(@Ctx() ctx: Context, @Arg('input') input: SendInvoiceDMInput): Promise<SendInvoiceDMPayload> {
    return { message: toMessageView(await ctx.services.billing.sendInvoiceDM(tenantOf(ctx), input)), userErrors: [] };
  }

  @Authorized(Role.SEND)
  @Mutation(() => NotifyBillingCyclePayload)
  async notifyBillingCycle(@Ctx() ctx: Context, @Arg('input') input: NotifyBillingCycleInput): Promise<NotifyBillingCyclePayload> {
    const { queued, rejected, rewritten } = await ctx.services.billing.notifyBillingCycle(tenantOf(ctx), input);
    // rewritten: some invoices were queued already (a re-sent or overlapping call of the cycle), so the write ran twice.
    ctx.log.info({ cycleId: input.cycleId, queued, rejected, rewritten }, 'billing cycle notified');
    return { cycleId: input.cycleId, queued, rejected, userErrors: [] };
  }
}
