import { Arg, Authorized, Ctx, Mutation, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toGlobalId } from '../../lib/ids.js';
import { EraseRecipientInput, EraseRecipientPayload } from './erasure.types.js';

@Resolver()
@UseMiddleware(RefusalsAsUserErrors)
export class ErasureResolver {
  @Authorized(Role.ADMIN)
  @Mutation(() => EraseRecipientPayload, {
    description:
      'ADMIN only. Erases what identifies the person: the recipient keeps its id and kind; its addresses, external reference, ' +
      'name ("[erased]") and subscriptions go; its messages keep their status and counts, with body, subject and destination ' +
      '"[erased]", SCHEDULED and QUEUED ones CANCELLED; delivery logs and webhook events lose what named the person. ' +
      'Running it again erases only what is left.',
  })
  async eraseRecipient(@Ctx() ctx: Context, @Arg('input') input: EraseRecipientInput): Promise<EraseRecipientPayload> {
    const tenantId = tenantOf(ctx);
    const counts = await ctx.services.erasure.eraseRecipient(tenantId, input.id);
    // Ids and counts only: this line is itself kept, and must not undo the erasure.
    ctx.log.info({ tenantId, byApiKeyId: ctx.auth?.apiKeyId, ...counts }, 'recipient erased');
    return { erasedId: toGlobalId('Recipient', counts.recipientId), messagesErased: counts.messagesErased, userErrors: [] };
  }
}
