// The GraphQL views of template rows: global ids, and one version as the API shows it.
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './templates.queries.js';
import type { Template, TemplateVersion } from './templates.types.js';

export function toVersionView(row: q.VersionRow): TemplateVersion {
  return {
    version: row.version,
    defaultLocale: row.defaultLocale,
    variants: row.variants.map((v) => ({ locale: v.locale, subject: v.subject, body: v.body, htmlBody: v.htmlBody })),
    createdAt: row.createdAt,
  };
}

/**
 * A template; `current` is the version given (the latest unless one was asked for), else
 * its field resolver loads it, as it loads `versions`.
 */
export function toTemplateView(row: q.TemplateRow, version?: q.VersionRow): Template & { __typename: 'Template' } {
  return {
    __typename: 'Template',
    id: toGlobalId('Template', row.id),
    dbId: row.id,
    name: row.name,
    channel: row.channel,
    version: row.version,
    current: version ? toVersionView(version) : undefined,
    archived: row.archivedAt !== null,
    builtIn: row.builtIn,
    fallback: row.fallback ?? [],
    fallbackAfterSeconds: row.fallbackAfterSeconds,
    category: row.category,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  } as Template & { __typename: 'Template' };
}
