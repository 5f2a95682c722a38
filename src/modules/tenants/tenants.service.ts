import { type CountryCode, isSupportedCountry } from 'libphonenumber-js';
import type { Database } from '../../db/client.js';
import { invalid, refuse, UserErrorCode } from '../../domain/refusal.js';
import { fromGlobalId, uuidv7 } from '../../lib/ids.js';
import type { ApiKeysService } from '../api-keys/api-keys.service.js';
import type { BudgetView, BudgetsService } from '../budgets/budgets.service.js';
import type { SetSendBudgetInput } from '../budgets/budgets.types.js';
import { insertGateways } from '../gateways/gateways.queries.js';
import { sandboxGatewayRows } from '../gateways/gateways.service.js';
import { ensureBuiltInTemplates } from '../templates/templates.service.js';
import * as q from './tenants.queries.js';

/** The operator tenant's fixed id: environment gateways and the first key belong to it. */
export const DEFAULT_TENANT_ID = '00000000-0000-7000-8000-000000000001';

export class TenantsService {
  constructor(
    private readonly db: Database,
    private readonly apiKeys: ApiKeysService,
    private readonly budgets: BudgetsService,
  ) {}

  get(id: string) {
    return q.findTenant(this.db, id);
  }

  /** Sets a tenant's send budgets (operator only, checked by the resolver) and answers with them. */
  async setSendBudget(input: SetSendBudgetInput): Promise<{ tenant: q.TenantRow; budget: BudgetView }> {
    const ref = fromGlobalId(input.tenantId, 'Tenant');
    const tenant = ref ? await q.findTenant(this.db, ref.uuid) : undefined;
    if (!tenant) throw refuse(UserErrorCode.NOT_FOUND, `no tenant ${input.tenantId}`, ['input', 'tenantId']);
    let homeCountries = input.homeCountries;
    if (homeCountries) {
      homeCountries = [...new Set(homeCountries.map((c) => c.toUpperCase()))];
      const unknown = homeCountries.filter((c) => !isSupportedCountry(c as CountryCode));
      if (unknown.length > 0) throw invalid(['input', 'homeCountries'], `not country codes known for phone numbers: ${unknown.join(', ')}`);
      if (homeCountries.length === 0) throw invalid(['input', 'homeCountries'], "give at least one country, or null for the environment's");
    }
    await this.budgets.set(tenant.id, {
      perMinute: input.perMinute,
      perDay: input.perDay,
      internationalPerDay: input.internationalPerDay,
      homeCountries,
    });
    return { tenant, budget: await this.budgets.view(tenant.id) };
  }

  /** A tenant with a SANDBOX default gateway on every channel and its first ADMIN key. */
  async create(name: string): Promise<{ tenant: q.TenantRow; adminKey: string }> {
    return this.db.transaction(async (tx) => {
      const tenant = await q.insertTenant(tx, { id: uuidv7(), name: name.trim() });
      await insertGateways(tx, sandboxGatewayRows(tenant.id));
      await ensureBuiltInTemplates(tx, [tenant.id]);
      const adminKey = await this.apiKeys.create(tx, tenant.id, 'first admin key', 'ADMIN');
      return { tenant, adminKey };
    });
  }
}
