// The GraphQL view of a tenant row.
import { CHANNELS } from '../../domain/enums.js';
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './tenants.queries.js';
import type { Tenant } from './tenants.types.js';

export function toTenantView(row: q.TenantRow): Tenant & { __typename: 'Tenant' } {
  return {
    __typename: 'Tenant',
    id: toGlobalId('Tenant', row.id),
    dbId: row.id,
    name: row.name,
    defaultLocale: row.defaultLocale,
    retentionDays: row.retentionDays,
    quietHours: [...row.quietHours].sort((a, b) => CHANNELS.indexOf(a.channel) - CHANNELS.indexOf(b.channel)),
    defaultTimeZone: row.defaultTimeZone,
    helpReply: row.helpReply,
    stopSuppresses: row.stopSuppresses,
    unsubscribeSuppresses: row.unsubscribeSuppresses,
    createdAt: row.createdAt,
  } as Tenant & { __typename: 'Tenant' };
}
