// Retention: how long a tenant's messages are kept (the purge, purger.ts, removes them
// after that), and the daily counts that outlive them.
import type { Database } from '../../db/client.js';
import type { ChannelValue } from '../../db/schema/index.js';
import { notFound } from '../../domain/refusal.js';
import { fromGlobalId } from '../../lib/ids.js';
import type { TenantRow } from '../tenants/tenants.queries.js';
import { dayRange } from './days.js';
import * as q from './retention.queries.js';

/** Who is setting a retention: the caller's tenant, and whether the caller is the operator. */
export interface RetentionSetter {
  tenantId: string;
  isOperator: boolean;
}

export class RetentionService {
  constructor(private readonly db: Database) {}

  /**
   * Sets the caller's own tenant's retention, or, for the operator, the tenant `tenantId`
   * names. To anyone else another tenant's id names nothing (NOT_FOUND), as every id of
   * another tenant does. The days' range is checked at the edge (and by the table).
   */
  async setRetention(caller: RetentionSetter, input: { tenantId?: string | null; days: number }): Promise<TenantRow> {
    let tenantId = caller.tenantId;
    if (input.tenantId != null) {
      const ref = fromGlobalId(input.tenantId, 'Tenant');
      if (!ref || (ref.uuid !== caller.tenantId && !caller.isOperator)) throw notFound(['input', 'tenantId'], 'no such tenant');
      tenantId = ref.uuid;
    }
    const row = await q.setRetentionDays(this.db, tenantId, input.days);
    if (!row) throw notFound(['input', 'tenantId'], 'no such tenant');
    return row;
  }

  /** Daily counts by channel and current status, purged days included; a Refusal for days that are not a range. */
  async stats(tenantId: string, input: { from: string; to: string; channel?: ChannelValue | null }): Promise<q.DailyStatRow[]> {
    return q.dailyStats(this.db, tenantId, dayRange(input.from, input.to), input.channel ?? undefined);
  }
}
