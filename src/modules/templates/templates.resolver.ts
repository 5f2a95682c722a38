import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, UseMiddleware } from 'type-graphql';
import { Role } from '../../graphql/auth-checker.js';
import { PagingArgs, pageRequest, toConnection } from '../../graphql/connection.js';
import { type Context, tenantOf } from '../../graphql/context.js';
import { nonEmptyFilter } from '../../graphql/filters.js';
import { RefusalsAsUserErrors } from '../../graphql/user-errors.js';
import {
  ArchiveTemplateInput,
  ArchiveTemplatePayload,
  CreateTemplateInput,
  CreateTemplatePayload,
  PreviewTemplateInput,
  PreviewTemplatePayload,
  ResetTemplateInput,
  ResetTemplatePayload,
  SetDefaultLocaleInput,
  SetDefaultLocalePayload,
  SetTemplateFallbackInput,
  SetTemplateFallbackPayload,
  Template,
  TemplateConnection,
  TemplateFilter,
  TemplateVersion,
  UpdateTemplateInput,
  UpdateTemplatePayload,
} from './templates.types.js';
import { toTenantView } from '../tenants/tenants.views.js';
import { toTemplateView, toVersionView } from './templates.views.js';

type TemplateView = Omit<Template, 'current'> & { current?: TemplateVersion };

@Resolver(() => Template)
@UseMiddleware(RefusalsAsUserErrors)
export class TemplatesResolver {
  @Authorized(Role.READ)
  @Query(() => Template, { nullable: true, description: 'A template; with version, current is that version (null when it has none).' })
  async template(
    @Ctx() ctx: Context,
    @Arg('id', () => ID) id: string,
    @Arg('version', () => Int, { nullable: true }) version?: number | null,
  ) {
    const found = await ctx.services.templates.get(tenantOf(ctx), id, version);
    return found ? toTemplateView(found.template, found.version) : null;
  }

  @Authorized(Role.READ)
  @Query(() => TemplateConnection, { description: "The tenant's templates, built-in ones included, newest first." })
  async templates(
    @Ctx() ctx: Context,
    @Args() paging: PagingArgs,
    @Arg('filter', () => TemplateFilter, { nullable: true }) filter?: TemplateFilter | null,
  ) {
    const page = pageRequest(paging, 'Template');
    return toConnection(ctx.services.templates.page(tenantOf(ctx), nonEmptyFilter(filter)), page, (row) => toTemplateView(row));
  }

  @Authorized(Role.READ)
  @Query(() => PreviewTemplatePayload, {
    description: 'What a send would say (and, for SMS and WhatsApp, cost); nothing is stored or sent.',
  })
  async previewTemplate(@Ctx() ctx: Context, @Arg('input') input: PreviewTemplateInput): Promise<PreviewTemplatePayload> {
    return { preview: await ctx.services.notifications.preview(tenantOf(ctx), input), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateTemplatePayload)
  async createTemplate(@Ctx() ctx: Context, @Arg('input') input: CreateTemplateInput): Promise<CreateTemplatePayload> {
    const made = await ctx.services.templates.create(tenantOf(ctx), input);
    return { template: toTemplateView(made.template, made.version), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateTemplatePayload)
  async updateTemplate(@Ctx() ctx: Context, @Arg('input') input: UpdateTemplateInput): Promise<UpdateTemplatePayload> {
    const made = await ctx.services.templates.update(tenantOf(ctx), input);
    return { template: toTemplateView(made.template, made.version), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ArchiveTemplatePayload)
  async archiveTemplate(@Ctx() ctx: Context, @Arg('input') input: ArchiveTemplateInput): Promise<ArchiveTemplatePayload> {
    return { template: toTemplateView(await ctx.services.templates.archive(tenantOf(ctx), input.id)), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => SetTemplateFallbackPayload)
  async setTemplateFallback(@Ctx() ctx: Context, @Arg('input') input: SetTemplateFallbackInput): Promise<SetTemplateFallbackPayload> {
    const made = await ctx.services.templates.setFallback(tenantOf(ctx), input.id, input);
    return { template: toTemplateView(made.template, made.version), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ResetTemplatePayload)
  async resetTemplate(@Ctx() ctx: Context, @Arg('input') input: ResetTemplateInput): Promise<ResetTemplatePayload> {
    const made = await ctx.services.templates.reset(tenantOf(ctx), input.id);
    return { template: toTemplateView(made.template, made.version), userErrors: [] };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => SetDefaultLocalePayload, {
    description: "Sets the tenant's default locale: sends that name no locale are in it, and new templates default to it.",
  })
  async setDefaultLocale(@Ctx() ctx: Context, @Arg('input') input: SetDefaultLocaleInput): Promise<SetDefaultLocalePayload> {
    return { tenant: toTenantView(await ctx.services.templates.setDefaultLocale(tenantOf(ctx), input.locale)), userErrors: [] };
  }

  @FieldResolver(() => TemplateVersion)
  async current(@Root() template: TemplateView, @Ctx() ctx: Context): Promise<TemplateVersion> {
    if (template.current) return template.current;
    const versions = await ctx.loaders.versionsByTemplate.load(template.dbId);
    const latest = versions.find((v) => v.version === template.version);
    if (!latest) throw new Error(`template ${template.dbId} has no version ${template.version}`);
    return toVersionView(latest);
  }

  @FieldResolver(() => [TemplateVersion])
  async versions(@Root() template: TemplateView, @Ctx() ctx: Context): Promise<TemplateVersion[]> {
    return (await ctx.loaders.versionsByTemplate.load(template.dbId)).map(toVersionView);
  }
}
