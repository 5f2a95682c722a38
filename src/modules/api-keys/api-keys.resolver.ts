import { Arg, Authorized, Ctx, Int, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { badUserInput } from '../../graphql/errors.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import { toApiKeyView } from './api-keys.views.js';
import { ApiKey, CreateApiKeyInput, CreateApiKeyPayload, RevokeApiKeyInput, RevokeApiKeyPayload } from './api-keys.types.js';

const MAX_UNUSED_DAYS = 36_500;

@Resolver(() => ApiKey)
@UseMiddleware(RefusalsAsUserErrors)
export class ApiKeysResolver {
  @Authorized(Role.ADMIN)
  @Query(() => [ApiKey], { description: "ADMIN only: the tenant's API keys, revoked ones included (never their secrets)." })
  async apiKeys(
    @Ctx() ctx: Context,
    @Arg('unusedForDays', () => Int, {
      nullable: true,
      description: 'Only the stale keys: live keys not used for this many days (a key never used counts from its creation).',
    })
    unusedForDays?: number | null,
  ) {
    if (unusedForDays != null && (unusedForDays < 1 || unusedForDays > MAX_UNUSED_DAYS)) {
      throw badUserInput(`unusedForDays must be between 1 and ${MAX_UNUSED_DAYS}`, ['unusedForDays']);
    }
    return (await ctx.services.apiKeys.list(tenantOf(ctx), unusedForDays ?? undefined)).map(toApiKeyView);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateApiKeyPayload)
  async createApiKey(@Ctx() ctx: Context, @Arg('input') input: CreateApiKeyInput): Promise<CreateApiKeyPayload> {
    const { secret, key } = await ctx.services.apiKeys.issue(tenantOf(ctx), input.name, input.role);
    ctx.log.info({ tenantId: tenantOf(ctx), apiKeyId: key.id, role: input.role }, 'API key created');
    return { apiKey: toApiKeyView(key), key: secret, userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RevokeApiKeyPayload, {
    description: 'ADMIN only. Revoking the key that makes the call is allowed; revoking the last ADMIN key of a tenant is a userError.',
  })
  async revokeApiKey(@Ctx() ctx: Context, @Arg('input') input: RevokeApiKeyInput): Promise<RevokeApiKeyPayload> {
    const key = await ctx.services.apiKeys.revoke(tenantOf(ctx), input.id);
    ctx.log.info({ tenantId: tenantOf(ctx), apiKeyId: key.id, byApiKeyId: ctx.auth?.apiKeyId }, 'API key revoked');
    return { apiKey: toApiKeyView(key), userErrors: [] };
  }
}
