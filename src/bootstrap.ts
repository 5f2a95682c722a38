// What every start does after migrating, idempotent and safe when several processes
// start together: the operator tenant, its SANDBOX and environment gateways, and the
// key that lets a newcomer in.
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { Channel, Provider } from './domain/enums.js';
import { countApiKeys } from './modules/api-keys/api-keys.queries.js';
import { insertGateways, listGateways, updateGateway } from './modules/gateways/gateways.queries.js';
import { type EnvGateway, SANDBOX_GATEWAY_NAME, sandboxGatewayRows } from './modules/gateways/gateways.service.js';
import { ensureDefaultTenant } from './modules/tenants/tenants.queries.js';
import { DEFAULT_TENANT_ID } from './modules/tenants/tenants.service.js';
import { ensureBuiltInTemplates } from './modules/templates/templates.service.js';
import type { Services } from './services.js';

export function environmentGateways(config: Config): EnvGateway[] {
  const out: EnvGateway[] = [];
  const { twilio, sendgrid, twitter } = config;
  if (twilio?.smsFrom) {
    out.push({
      channel: Channel.SMS,
      provider: Provider.TWILIO,
      name: 'env:twilio-sms',
      envSource: 'TWILIO_SMS_FROM',
      credentials: { accountSid: twilio.accountSid, authToken: twilio.authToken, from: twilio.smsFrom },
    });
  }
  if (twilio?.whatsappFrom) {
    out.push({
      channel: Channel.WHATSAPP,
      provider: Provider.TWILIO,
      name: 'env:twilio-whatsapp',
      envSource: 'TWILIO_WHATSAPP_FROM',
      credentials: { accountSid: twilio.accountSid, authToken: twilio.authToken, from: twilio.whatsappFrom },
    });
  }
  if (sendgrid) {
    out.push({
      channel: Channel.EMAIL,
      provider: Provider.SENDGRID,
      name: 'env:sendgrid',
      envSource: 'SENDGRID_API_KEY',
      credentials: { apiKey: sendgrid.apiKey, from: sendgrid.fromEmail },
    });
  }
  if (twitter) {
    out.push({
      channel: Channel.TWITTER_DM,
      provider: Provider.TWITTER,
      name: 'env:twitter',
      envSource: 'TWITTER_APP_KEY',
      credentials: twitter,
    });
  }
  return out;
}

/** Returns the generated first ADMIN key when this start created one. */
export async function bootstrap(db: Database, services: Services, config: Config, log: Logger): Promise<{ firstKey?: string }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('herald:bootstrap'))`);
    await ensureDefaultTenant(tx, DEFAULT_TENANT_ID);
    // Every tenant's built-in templates, also those of tenants made before templates existed.
    await ensureBuiltInTemplates(tx);

    await insertGatewaysIfMissing(tx);
    await services.gateways.applyEnvironmentGateways(tx, DEFAULT_TENANT_ID, environmentGateways(config));
    // A channel left without a default (none ever set) falls back to its SANDBOX.
    const rows = await listGateways(tx, DEFAULT_TENANT_ID);
    for (const channel of Object.values(Channel)) {
      if (rows.some((r) => r.channel === channel && r.isDefault)) continue;
      const sandbox = rows.find((r) => r.channel === channel && r.provider === Provider.SANDBOX && r.name === SANDBOX_GATEWAY_NAME);
      if (sandbox) await updateGateway(tx, sandbox.id, { isDefault: true, enabled: true });
    }

    if (config.bootstrapAdminKey) {
      await services.apiKeys.create(tx, DEFAULT_TENANT_ID, 'HERALD_BOOTSTRAP_ADMIN_KEY', 'ADMIN', config.bootstrapAdminKey);
      return {};
    }
    if ((await countApiKeys(tx)) === 0) {
      const firstKey = await services.apiKeys.create(tx, DEFAULT_TENANT_ID, 'first admin key', 'ADMIN');
      log.info('no API key existed: created the first ADMIN key of the default tenant');
      return { firstKey };
    }
    return {};
  });

  async function insertGatewaysIfMissing(tx: Parameters<Parameters<Database['transaction']>[0]>[0]) {
    const existing = await listGateways(tx, DEFAULT_TENANT_ID);
    const missing = sandboxGatewayRows(DEFAULT_TENANT_ID, false).filter(
      (row) => !existing.some((r) => r.channel === row.channel && r.name === SANDBOX_GATEWAY_NAME),
    );
    if (missing.length > 0) await insertGateways(tx, missing);
  }
}
