// Templates: a tenant's texts, per channel, in immutable versions. Saving checks every
// part parses (TEMPLATE_SYNTAX with line and column) and every rule of the channel;
// sending renders a version at accept time, so a message keeps the words it was accepted
// with whatever happens to the template afterwards.
//
// Sends read templates from a cache (a database read per send would cost more than the
// rest of the send): every write to a template is announced by a trigger on NOTIFY, and
// every process drops what it cached of that template when it hears it. While this
// process cannot hear (its LISTEN connection is down), a cached template is trusted for a
// second only, as API keys are.
import type { Database, Executor } from '../../db/client.js';
import type { DatabaseListener } from '../../realtime/listener.js';
import type { ChannelValue, TemplateVariantData } from '../../db/schema/index.js';
import type { BuiltInTemplate, Channel, MessageCategory } from '../../domain/enums.js';
import { MAX_TEMPLATE_VARIANTS } from '../../domain/limits.js';
import type { Pageable } from '../../domain/paging.js';
import { invalid, Problems, refuse, UserErrorCode } from '../../domain/refusal.js';
import { LRUCache } from 'lru-cache';
import { naturalBatches } from '../../lib/batching.js';
import { fromGlobalId, timeOfUuidv7, uuidv7 } from '../../lib/ids.js';
import { BUILT_IN_TEXTS, type BuiltInText, builtInText } from '../../templates/built-in.js';
import { TEMPLATE_SOURCE_MAX } from '../../templates/engine.js';
import { canonicalLocale, syntaxError, type TemplateText } from './render.js';
import * as tenantsQ from '../tenants/tenants.queries.js';
import * as q from './templates.queries.js';
import { checkFallback, type FallbackAsk } from '../fallback/fallback.js';

/** A tenant's default locale until it sets its own (setDefaultLocale). */
export const DEFAULT_LOCALE = 'en';

const NAME_MAX = 200;

/** The NOTIFY channel of template writes (drizzle/0012_templates.sql); the payload is "<tenant uuid>:<template uuid>". */
export const TEMPLATE_CHANGED_CHANNEL = 'herald_template_changed';
const CACHE_TTL_MS = 30_000;
const UNWATCHED_TTL_MS = 1_000;
const CACHE_MAX = 10_000;

interface Cached<V> {
  value: V;
  at: number;
}

export interface VariantInput {
  locale: string;
  subject?: string | null;
  body: string;
  htmlBody?: string | null;
}

export interface CreateTemplateRequest {
  name: string;
  channel: ChannelValue;
  defaultLocale?: string | null;
  variants: VariantInput[];
  category?: MessageCategory | null;
}

export interface UpdateTemplateRequest {
  id: string;
  name?: string | null;
  defaultLocale?: string | null;
  variants?: VariantInput[] | null;
  category?: MessageCategory | null;
}

export interface TemplateFilterRequest {
  channel?: ChannelValue | null;
  archived?: boolean | null;
  name?: string | null;
}

/** A built-in template's current words, with the template (its `version` is theirs) to record on messages. */
export interface BuiltInVersion {
  template?: q.TemplateRow;
  text: TemplateText;
  /** The tenant's default locale: Herald's flows send in it. */
  tenantLocale: string;
}

export class TemplatesService {
  // Flows arriving together read their tenants' built-in templates in one statement.
  private readonly builtInsOf: (tenantId: string) => Promise<q.TemplateAt[]>;

  // Current version by "<tenant uuid>:<template uuid>"; built-in templates by tenant uuid.
  private readonly current = new LRUCache<string, Cached<q.TemplateAt | null>>({ max: CACHE_MAX, ttl: CACHE_TTL_MS });
  private readonly builtInCache = new LRUCache<string, Cached<q.TemplateAt[]>>({ max: CACHE_MAX, ttl: CACHE_TTL_MS });
  // Each tenant's default locale, by tenant uuid (dropped with the tenant's templates).
  private readonly localeCache = new LRUCache<string, Cached<string>>({ max: CACHE_MAX, ttl: CACHE_TTL_MS });
  // Bumped by every change heard: a read that started before one is not cached.
  private changes = 0;
  private listener?: Pick<DatabaseListener, 'isUp'>;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.builtInsOf = naturalBatches(
      async (tenantIds: string[]) => {
        const rows = await q.findBuiltIns(this.db, [...new Set(tenantIds)]);
        return tenantIds.map((id) => rows.filter((r) => r.template.tenantId === id));
      },
      { maxInFlight: 1, maxWeight: 500 },
    );
  }

  /** Hears every process's template writes on this process's LISTEN connection. */
  follow(listener: DatabaseListener): void {
    this.listener = listener;
    listener.on(TEMPLATE_CHANGED_CHANNEL, (payload) => {
      const [tenantId, id] = payload.split(':');
      this.forget(tenantId, id);
    });
    // Whatever changed while the connection was down was announced to no one here.
    listener.onReconnect(async () => {
      this.changes++;
      this.current.clear();
      this.builtInCache.clear();
      this.localeCache.clear();
    });
  }

  private forget(tenantId: string, id: string): void {
    this.changes++;
    this.current.delete(`${tenantId}:${id}`);
    this.builtInCache.delete(tenantId);
    this.localeCache.delete(tenantId);
  }

  private async cached<V>(cache: LRUCache<string, Cached<V>>, key: string, read: () => Promise<V>): Promise<V> {
    const hit = cache.get(key);
    if (hit && (this.listener?.isUp || this.now() - hit.at < UNWATCHED_TTL_MS)) return hit.value;
    const changes = this.changes;
    const value = await read();
    if (changes === this.changes) cache.set(key, { value, at: this.now() });
    return value;
  }

  async create(tenantId: string, input: CreateTemplateRequest, now = new Date()): Promise<q.TemplateAt> {
    const name = checkName(input.name);
    const text = checkText(input.channel, input.defaultLocale ?? (await this.defaultLocaleOf(tenantId)), input.variants);
    const id = uuidv7();
    return this.db.transaction((tx) =>
      q.insertTemplate(
        tx,
        {
          id,
          tenantId,
          name,
          channel: input.channel,
          category: input.category ?? undefined,
          version: 1,
          createdAt: timeOfUuidv7(id),
          updatedAt: now,
        },
        { templateId: id, version: 1, name, defaultLocale: text.defaultLocale, variants: [...text.variants], createdAt: now },
      ),
    );
  }

  /** A new version: the fields given replace the previous version's, the others are kept. */
  async update(tenantId: string, input: UpdateTemplateRequest, now = new Date()): Promise<q.TemplateAt> {
    const current = await this.mustFind(tenantId, input.id);
    if (current.template.archivedAt) throw archived(current.template);
    const category = input.category ?? undefined;
    if (current.template.builtIn && category && category !== 'TRANSACTIONAL') {
      throw invalid(['input', 'category'], `${current.template.name} is built in: Herald's own flows send it, and they are TRANSACTIONAL`);
    }
    const name = input.name === undefined || input.name === null ? current.version.name : checkName(input.name);
    const text = checkText(
      current.template.channel,
      input.defaultLocale ?? current.version.defaultLocale,
      input.variants ?? current.version.variants,
      input.variants ? ['input', 'variants'] : null,
    );
    return this.newVersion(tenantId, current.template.id, name, text, now, category);
  }

  /** A built-in template back to Herald's own text, as a new version. */
  async reset(tenantId: string, id: string, now = new Date()): Promise<q.TemplateAt> {
    const current = await this.mustFind(tenantId, id);
    const original = current.template.builtIn ? builtInText(current.template.builtIn, current.template.channel) : undefined;
    if (!original) throw refuse(UserErrorCode.INVALID_STATE, 'only built-in templates can be reset; this one is your own', ['input', 'id']);
    return this.newVersion(
      tenantId,
      current.template.id,
      original.name,
      { defaultLocale: original.defaultLocale, variants: original.variants },
      now,
    );
  }

  private async newVersion(
    tenantId: string,
    id: string,
    name: string,
    text: TemplateText,
    now: Date,
    category?: MessageCategory,
  ): Promise<q.TemplateAt> {
    const made = await this.db.transaction(async (tx) => {
      const template = await q.claimNextVersion(tx, tenantId, id, { name, updatedAt: now, category });
      if (!template) throw refuse(UserErrorCode.NOT_FOUND, `no template ${id}`, ['input', 'id']);
      const version = await q.insertVersion(tx, {
        templateId: id,
        version: template.version,
        name,
        defaultLocale: text.defaultLocale,
        variants: [...text.variants],
        createdAt: now,
      });
      return { template, version };
    });
    // This process's next send sees the new version without waiting for the NOTIFY.
    this.forget(tenantId, id);
    return made;
  }

  /**
   * The fallback sends from this template take when they name none. Each fallback channel
   * needs a template of the same name there now (sends check again, in case it is archived later).
   */
  async setFallback(tenantId: string, id: string, ask: FallbackAsk, now = new Date()): Promise<q.TemplateAt> {
    const current = await this.mustFind(tenantId, id);
    if (current.template.archivedAt) throw archived(current.template);
    const problems = new Problems();
    checkFallback(current.template.channel, ask, problems);
    problems.throwIfAny();
    const channels = ask.fallback ?? [];
    await Promise.all(
      channels.map((channel, i) => this.currentByName(tenantId, channel, current.version.name, ['input', 'fallback', String(i)])),
    );
    const row = await q.setTemplateFallback(
      this.db,
      tenantId,
      current.template.id,
      {
        fallback: channels.length ? [...channels] : null,
        fallbackAfterSeconds: channels.length ? (ask.fallbackAfterSeconds ?? null) : null,
      },
      now,
    );
    if (!row) throw unknownTemplate(id);
    this.forget(tenantId, row.id);
    return { template: row, version: current.version };
  }

  /** Archived templates stay readable (messages name them) but send nothing and take no new versions. */
  async archive(tenantId: string, id: string, now = new Date()): Promise<q.TemplateRow> {
    const current = await this.mustFind(tenantId, id);
    if (current.template.builtIn) {
      throw refuse(
        UserErrorCode.INVALID_STATE,
        `${current.template.name} is built in (Herald's own flows send it): edit or reset it instead`,
        ['input', 'id'],
      );
    }
    const archived = (await q.archiveTemplate(this.db, tenantId, current.template.id, now))!;
    this.forget(tenantId, archived.id);
    return archived;
  }

  /** The template with `version` (its current one when omitted), if it is the tenant's. */
  async get(tenantId: string, id: string, version?: number | null): Promise<q.TemplateAt | undefined> {
    const ref = fromGlobalId(id, 'Template');
    return ref ? q.findTemplateAt(this.db, tenantId, ref.uuid, version ?? undefined) : undefined;
  }

  /** The template's current version, from the cache when it can be trusted. */
  private async currentOf(tenantId: string, id: string): Promise<q.TemplateAt | undefined> {
    const uuid = fromGlobalId(id, 'Template')?.uuid;
    if (!uuid) return undefined;
    return (
      (await this.cached(this.current, `${tenantId}:${uuid}`, async () => (await q.findTemplateAt(this.db, tenantId, uuid)) ?? null)) ??
      undefined
    );
  }

  /** The tenant's default locale: what a send without a locale is in, and where variants fall back to. */
  defaultLocaleOf(tenantId: string): Promise<string> {
    return this.cached(
      this.localeCache,
      tenantId,
      async () => (await tenantsQ.findTenant(this.db, tenantId))?.defaultLocale ?? DEFAULT_LOCALE,
    );
  }

  /** Sets the tenant's default locale (a BCP 47 tag, kept canonical) and answers with the tenant. */
  async setDefaultLocale(tenantId: string, locale: string): Promise<tenantsQ.TenantRow> {
    const canonical = canonicalLocale(locale);
    if (!canonical) throw invalid(['input', 'locale'], 'locale must be a BCP 47 language tag such as en or fr-CA');
    const tenant = await tenantsQ.setDefaultLocale(this.db, tenantId, canonical);
    this.forget(tenantId, '');
    return tenant;
  }

  /** The current version of a template a send may use: the tenant's, not archived, of `channel`. */
  async usable(tenantId: string, id: string, channel: Channel): Promise<q.TemplateAt> {
    const found = await this.currentOf(tenantId, id);
    if (!found) throw unknownTemplate(id);
    if (found.template.archivedAt) throw archived(found.template, ['input', 'templateId']);
    if (found.template.channel !== channel) throw wrongChannel(found.template, channel, ['input', 'templateId']);
    return found;
  }

  /** The tenant's template of `name` on `channel` (not archived), e.g. the variant a fallback on that channel is rendered from. */
  async currentByName(tenantId: string, channel: Channel, name: string, field: string[]): Promise<q.TemplateAt> {
    const found = await q.findCurrentByName(this.db, tenantId, channel, name);
    if (!found) throw refuse(UserErrorCode.NOT_FOUND, `no ${channel} template named "${name}" to fall back with`, field);
    return found;
  }

  /**
   * The current versions of the tenant's built-in templates, by flow and channel. A tenant
   * always has them (bootstrap and tenant creation write them); should one be missing,
   * Herald's own text is used, unrecorded.
   */
  async builtIns(tenantId: string): Promise<(builtIn: BuiltInTemplate, channel: Channel) => BuiltInVersion> {
    const [found, tenantLocale] = await Promise.all([
      this.cached(this.builtInCache, tenantId, () => this.builtInsOf(tenantId)),
      this.defaultLocaleOf(tenantId),
    ]);
    return (builtIn, channel) => {
      const at = found.find((t) => t.template.builtIn === builtIn && t.template.channel === channel);
      return at ? { template: at.template, text: at.version, tenantLocale } : { text: builtInText(builtIn, channel)!, tenantLocale };
    };
  }

  page(tenantId: string, filter: TemplateFilterRequest | null | undefined): Pageable<q.TemplateRow> {
    const query: q.TemplateQuery = {
      channel: filter?.channel ?? undefined,
      archived: filter?.archived ?? undefined,
      name: filter?.name?.trim() || undefined,
    };
    return {
      rows: (page) => q.pageTemplates(this.db, tenantId, query, page),
      count: (atMost) => q.countTemplates(this.db, tenantId, query, atMost),
    };
  }

  private async mustFind(tenantId: string, id: string): Promise<q.TemplateAt> {
    const found = await this.get(tenantId, id);
    if (!found) throw refuse(UserErrorCode.NOT_FOUND, `no template ${id}`, ['input', 'id']);
    return found;
  }
}

/** Writes Herald's built-in templates for every tenant that lacks some (all when `tenantIds` is omitted). */
export async function ensureBuiltInTemplates(ex: Executor, tenantIds?: readonly string[], now = new Date()): Promise<number> {
  const missing = tenantIds ?? (await q.tenantsMissingBuiltIns(ex, BUILT_IN_TEXTS.length));
  const rows = missing.flatMap((tenantId) => BUILT_IN_TEXTS.map((text) => builtInRow(tenantId, text, now)));
  return q.insertBuiltIns(ex, rows);
}

function builtInRow(tenantId: string, text: BuiltInText, now: Date) {
  const id = uuidv7();
  return {
    template: {
      id,
      tenantId,
      name: text.name,
      channel: text.channel,
      builtIn: text.builtIn,
      version: 1,
      createdAt: timeOfUuidv7(id),
      updatedAt: now,
    },
    version: { templateId: id, version: 1, name: text.name, defaultLocale: text.defaultLocale, variants: text.variants, createdAt: now },
  };
}

/** NOT_FOUND on the template, or on the version when one was asked for. */
export function unknownTemplate(id: string, version?: number | null) {
  return version === undefined || version === null
    ? refuse(UserErrorCode.NOT_FOUND, `no template ${id}`, ['input', 'templateId'])
    : refuse(UserErrorCode.NOT_FOUND, `no version ${version} of template ${id}`, ['input', 'version']);
}

/** WRONG_CHANNEL: `template` asked for on another channel, the field at fault being `field`. */
export const wrongChannel = (template: q.TemplateRow, channel: Channel, field: string[]) =>
  refuse(UserErrorCode.WRONG_CHANNEL, `template ${template.name} is for ${template.channel}, not ${channel}`, field);

const archived = (template: q.TemplateRow, field = ['input', 'id']) =>
  refuse(UserErrorCode.TEMPLATE_ARCHIVED, `template ${template.name} is archived`, field);

function checkName(name: string): string {
  const trimmed = name.trim();
  const problems = new Problems();
  if (!trimmed) problems.add(['input', 'name'], 'name must not be empty');
  if (trimmed.length > NAME_MAX) problems.add(['input', 'name'], `name must be at most ${NAME_MAX} characters`);
  problems.throwIfAny();
  return trimmed;
}

/**
 * The version's words, checked: locales are BCP 47 tags (kept canonical), each once, the
 * default among them; EMAIL variants have a subject, other channels neither subject nor
 * HTML; every part parses. `path` is where the variants came from (null: kept from the
 * previous version, so only the default locale can be at fault).
 */
function checkText(
  channel: Channel,
  defaultLocaleInput: string,
  variants: readonly VariantInput[],
  path: string[] | null = ['input', 'variants'],
): TemplateText {
  const problems = new Problems();
  const defaultLocale = canonicalLocale(defaultLocaleInput);
  if (!defaultLocale) problems.add(['input', 'defaultLocale'], `defaultLocale must be a BCP 47 language tag such as en or fr-CA`);
  if (variants.length === 0) problems.add(path ?? ['input', 'variants'], 'give at least one variant');
  if (variants.length > MAX_TEMPLATE_VARIANTS) problems.add(path ?? ['input', 'variants'], `at most ${MAX_TEMPLATE_VARIANTS} variants`);
  const seen = new Set<string>();
  const out: TemplateVariantData[] = [];
  variants.forEach((variant, index) => {
    const at = (field: string) => [...(path ?? ['input', 'variants']), String(index), field];
    const locale = canonicalLocale(variant.locale);
    if (!locale) problems.add(at('locale'), `"${variant.locale.slice(0, 40)}" is not a BCP 47 language tag such as en or fr-CA`);
    else if (seen.has(locale)) problems.add(at('locale'), `${locale} has two variants`);
    else seen.add(locale);
    const subject = variant.subject ?? null;
    const htmlBody = variant.htmlBody ?? null;
    if (channel === 'EMAIL' && !subject?.trim()) problems.add(at('subject'), 'an EMAIL variant needs a subject');
    if (channel !== 'EMAIL' && subject !== null) problems.add(at('subject'), `${channel} has no subject`);
    if (channel !== 'EMAIL' && htmlBody !== null) problems.add(at('htmlBody'), `${channel} has no HTML body`);
    if (!variant.body.trim()) problems.add(at('body'), 'body must not be empty');
    const parts: [string, string | null, 'text' | 'html'][] = [
      ['subject', subject, 'text'],
      ['body', variant.body, 'text'],
      ['htmlBody', htmlBody, 'html'],
    ];
    for (const [field, source, mode] of parts) {
      if (source === null) continue;
      if (source.length > TEMPLATE_SOURCE_MAX) {
        problems.add(at(field), `${field} must be at most ${TEMPLATE_SOURCE_MAX} characters`);
        continue;
      }
      const error = syntaxError(source, mode);
      if (error) problems.add(at(field), error, UserErrorCode.TEMPLATE_SYNTAX);
    }
    out.push({ locale: locale ?? variant.locale, subject, body: variant.body, htmlBody });
  });
  if (defaultLocale && variants.length > 0 && !seen.has(defaultLocale)) {
    problems.add(['input', 'defaultLocale'], `defaultLocale ${defaultLocale} has no variant: add one, or pick a locale that has`);
  }
  problems.throwIfAny();
  return { defaultLocale: defaultLocale!, variants: out };
}
