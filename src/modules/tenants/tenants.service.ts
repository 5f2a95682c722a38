import type { Database } from '../../db/client.js';
import { toGlobalId, uuidv7 } from '../../lib/ids.js';
import type { ApiKeysService } from '../api-keys/api-keys.service.js';
import { insertGateways } from '../gateways/gateways.queries.js';
import { sandboxGatewayRows } from '../gateways/gateways.service.js';
import type { Tenant } from './tenants.types.js';
import * as q from './tenants.queries.js';

/** The operator tenant's fixed id: environment gateways and the first key belong to it. */
export const DEFAULT_TENANT_ID = '00000000-0000-7000-8000-000000000001';

export function toTenantView(row: q.TenantRow): Tenant & { __typename: 'Tenant' } {
  return { __typename: 'Tenant', id: toGlobalId('Tenant', row.id), name: row.name, createdAt: row.createdAt };
}

export class TenantsService {
  constructor(
    private readonly db: Database,
    private readonly apiKeys: ApiKeysService,
  ) {}

  get(id: string) {
    return q.findTenant(this.db, id);
  }

  /** A tenant with a SANDBOX default gateway on every channel and its first ADMIN key. */
  async create(name: string): Promise<{ tenant: q.TenantRow; adminKey: string }> {
    return this.db.transaction(async (tx) => {
      const tenant = await q.insertTenant(tx, { id: uuidv7(), name: name.trim() });
      await insertGateways(tx, sandboxGatewayRows(tenant.id));
      const adminKey = await this.apiKeys.create(tx, tenant.id, 'first admin key', 'ADMIN');
      return { tenant, adminKey };
    });
  }
}
