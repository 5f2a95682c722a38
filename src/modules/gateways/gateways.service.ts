import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Database, Executor } from '../../db/client.js';
import { type ChannelValue } from '../../db/schema/index.js';
import { CHANNELS, type Channel, Provider } from '../../domain/enums.js';
import { invalid, notFound } from '../../domain/refusal.js';
import { fromGlobalId } from '../../lib/ids.js';
import { uuidv7 } from '../../lib/ids.js';
import type { ResealCounts, SecretBox } from '../../lib/secret-box.js';
import type { Credentials } from '../../providers/credentials.js';
import { PROVIDERS_FOR, parseCredentials } from './credentials.js';
import type { AddChannelGatewayInput, UpdateGatewayInput } from './gateways.types.js';
import type { ChannelRouting, RoutingService } from '../routing/routing.service.js';
import * as q from './gateways.queries.js';

export const SANDBOX_GATEWAY_NAME = 'sandbox';
export const ENV_GATEWAY_PREFIX = 'env:';

/** The SANDBOX gateway every channel of a new tenant starts with, as its default. */
export function sandboxGatewayRows(tenantId: string, isDefault = true): q.NewGatewayRow[] {
  return CHANNELS.map((channel) => ({
    id: uuidv7(),
    tenantId,
    channel,
    provider: Provider.SANDBOX,
    name: SANDBOX_GATEWAY_NAME,
    enabled: true,
    isDefault,
  }));
}

export interface ChannelGateways {
  channel: Channel;
  gateways: q.GatewayRow[];
  routing: ChannelRouting;
}

export class GatewaysService {
  private readonly opened = new LRUCache<string, Credentials, { id: string; sealed: string }>({
    max: 500,
    memoMethod: (_key, _stale, { context: { id, sealed } }) => Object.freeze(JSON.parse(this.secrets.open(sealed, id))) as Credentials,
  });

  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
    private readonly routing: RoutingService,
  ) {}

  /** The tenant's gateway by its API id; undefined for another tenant's or a malformed id. */
  async get(tenantId: string, id: string): Promise<q.GatewayRow | undefined> {
    const ref = fromGlobalId(id, 'Gateway');
    return ref ? q.findGateway(this.db, tenantId, ref.uuid) : undefined;
  }

  list(tenantId: string, channel?: Channel | null) {
    return q.listGateways(this.db, tenantId, channel ?? undefined);
  }

  /** Each channel (every one unless asked) with its gateways and its routing. */
  async channels(tenantId: string, only: readonly Channel[] = CHANNELS): Promise<ChannelGateways[]> {
    const rows = await q.listGateways(this.db, tenantId);
    const routing = await this.routing.routingOf(tenantId, rows, only);
    return routing.map((r) => ({ channel: r.channel, gateways: rows.filter((g) => g.channel === r.channel), routing: r }));
  }

  async add(tenantId: string, input: AddChannelGatewayInput): Promise<q.GatewayRow> {
    if (!PROVIDERS_FOR[input.channel].includes(input.provider)) {
      throw invalid(
        ['input', 'provider'],
        `${input.provider} cannot carry ${input.channel}; use ${PROVIDERS_FOR[input.channel].join(' or ')}`,
      );
    }
    const { value, problem } = parseCredentials(input.provider, input.credentials);
    if (problem) throw invalid(['input', 'credentials'], problem);
    const enabled = input.enabled ?? true;
    if (input.makeDefault && !enabled) throw invalid(['input', 'makeDefault'], 'a disabled gateway cannot be the default');
    const name = input.name.trim();
    // Environment gateways are named "env:…" at start (bootstrap.ts); an API gateway of that
    // name would collide with one on the next start and stop the process.
    if (name.startsWith(ENV_GATEWAY_PREFIX))
      throw invalid(['input', 'name'], `names starting with "${ENV_GATEWAY_PREFIX}" are kept for gateways set by environment variables`);

    return this.db.transaction(async (tx) => {
      await q.lockGatewayDefaults(tx, tenantId);
      if (await q.findGatewayByName(tx, tenantId, input.channel, name)) {
        throw invalid(['input', 'name'], `a ${input.channel} gateway named "${name}" exists already`);
      }
      const current = await q.findDefaultGateway(tx, tenantId, input.channel);
      // The SANDBOX a tenant starts with is a placeholder: the first real gateway added
      // takes over as default unless the caller says otherwise.
      const placeholder = !current || !current.enabled || (current.provider === Provider.SANDBOX && current.name === SANDBOX_GATEWAY_NAME);
      const makeDefault = enabled && (input.makeDefault ?? (placeholder && input.provider !== Provider.SANDBOX));
      if (makeDefault) await q.clearDefault(tx, tenantId, input.channel);
      const id = uuidv7();
      const [row] = await q.insertGateways(tx, [
        {
          id,
          tenantId,
          channel: input.channel,
          provider: input.provider,
          name,
          enabled,
          isDefault: makeDefault,
          credentials: value ? this.seal(id, value) : null,
          maxPerSecond: input.maxPerSecond ?? null,
          priceMultiplier: input.priceMultiplier ?? 1,
        },
      ]);
      return row;
    });
  }

  /**
   * Enables, disables, re-defaults, re-caps a gateway or replaces its credentials. Disabling
   * the default hands the channel back to its SANDBOX, so a channel always has an enabled default.
   */
  async update(tenantId: string, input: UpdateGatewayInput): Promise<q.GatewayRow> {
    const ref = fromGlobalId(input.id, 'Gateway');
    if (!ref) throw notFound(['input', 'id'], `no gateway ${input.id}`);
    return this.db.transaction(async (tx) => {
      const gateway = await q.findGateway(tx, tenantId, ref.uuid);
      if (!gateway) throw notFound(['input', 'id'], `no gateway ${input.id}`);
      await q.lockGatewayDefaults(tx, tenantId);
      const enabled = input.enabled ?? gateway.enabled;
      if (input.makeDefault && !enabled) throw invalid(['input', 'makeDefault'], 'a disabled gateway cannot be the default');
      if (input.makeDefault === false && gateway.isDefault && enabled) {
        throw invalid(['input', 'makeDefault'], 'make another gateway the default instead; a channel always has one');
      }
      const set: Partial<q.NewGatewayRow> = { enabled };
      if (input.credentials !== undefined && input.credentials !== null) {
        // Environment gateways are rewritten from their variables at every start.
        if (gateway.envSource) {
          throw invalid(
            ['input', 'credentials'],
            `this gateway's credentials come from ${gateway.envSource} and its sibling variables; change them there`,
          );
        }
        const { value, problem } = parseCredentials(gateway.provider, input.credentials);
        if (problem) throw invalid(['input', 'credentials'], problem);
        set.credentials = value ? this.seal(gateway.id, value) : null;
      }
      if (input.maxPerSecond !== undefined && input.maxPerSecond !== null)
        set.maxPerSecond = input.maxPerSecond === 0 ? null : input.maxPerSecond;
      if (input.priceMultiplier !== undefined && input.priceMultiplier !== null) set.priceMultiplier = input.priceMultiplier;
      if (input.makeDefault && !gateway.isDefault) {
        await q.clearDefault(tx, tenantId, gateway.channel);
        set.isDefault = true;
      }
      if (!enabled && gateway.isDefault) {
        set.isDefault = false;
        const sandbox = (await q.listGateways(tx, tenantId, gateway.channel)).find(
          (r) => r.id !== gateway.id && r.provider === Provider.SANDBOX && r.name === SANDBOX_GATEWAY_NAME,
        );
        if (!sandbox) throw invalid(['input', 'enabled'], `make another ${gateway.channel} gateway the default before disabling this one`);
        await q.updateGateway(tx, gateway.id, set);
        await q.updateGateway(tx, sandbox.id, { isDefault: true, enabled: true });
      } else {
        await q.updateGateway(tx, gateway.id, set);
      }
      return (await q.findGateway(tx, tenantId, gateway.id))!;
    });
  }

  /** Credentials sealed for the gateway `gatewayId`: they open on that row only. */
  seal(gatewayId: string, credentials: Credentials): string {
    return this.secrets.seal(JSON.stringify(credentials), gatewayId);
  }

  /**
   * The gateway's credentials, opened. The worker asks for every message, so opened
   * credentials are kept by gateway and sealed text (a changed secret is a new entry), bounded.
   * Throws when they do not open (another key, altered, or copied from another row).
   */
  credentialsOf(row: q.GatewayRow): Credentials | null {
    const sealed = row.credentials;
    if (!sealed) return null;
    const context = { id: row.id, sealed };
    return this.opened.memo(JSON.stringify(context), { context });
  }

  /**
   * Seals every gateway's credentials again under the current HERALD_SECRET_KEY, bound to
   * its row, so previous keys can be dropped. Values already so sealed are left alone; a
   * value that does not open is counted and left as it is (the caller must not drop keys then).
   */
  async resealAll(log: Logger): Promise<ResealCounts> {
    const counts: ResealCounts = { resealed: 0, current: 0, unreadable: 0 };
    let after: string | null = null;
    for (;;) {
      const page: q.GatewayRow[] = await q.gatewaysWithCredentials(this.db, after, 200);
      if (page.length === 0) return counts;
      for (const row of page) {
        const sealed = row.credentials!;
        const why = await this.secrets.reseal(sealed, row.id, (next) => q.replaceSealedCredentials(this.db, row.id, sealed, next), counts);
        if (why) {
          log.error(
            { gatewayId: row.id, tenantId: row.tenantId, gateway: row.name, why },
            'gateway credentials do not open; left as they are',
          );
        }
      }
      after = page[page.length - 1].id;
    }
  }

  /**
   * Makes the environment's gateways (TWILIO_*, SENDGRID_*, TWITTER_*) the default
   * tenant's defaults, and steps back to SANDBOX where the environment no longer has one.
   */
  async applyEnvironmentGateways(ex: Executor, tenantId: string, envGateways: EnvGateway[]): Promise<void> {
    await q.lockGatewayDefaults(ex, tenantId);
    const existing = await q.listGateways(ex, tenantId);
    for (const channel of CHANNELS) {
      const wanted = envGateways.find((g) => g.channel === channel);
      const envRow = existing.find((r) => r.channel === channel && r.envSource !== null);
      const sandbox = existing.find((r) => r.channel === channel && r.provider === Provider.SANDBOX && r.name === SANDBOX_GATEWAY_NAME);
      if (wanted) {
        await q.clearDefault(ex, tenantId, channel);
        const id = envRow?.id ?? uuidv7();
        const set = {
          provider: wanted.provider,
          enabled: true,
          isDefault: true,
          credentials: this.seal(id, wanted.credentials),
          envSource: wanted.envSource,
        };
        if (envRow) await q.updateGateway(ex, envRow.id, { ...set, name: wanted.name });
        else await q.insertGateways(ex, [{ id, tenantId, channel, name: wanted.name, ...set }]);
      } else if (envRow) {
        // The variable was removed: keep the row (subscriptions and history name it), disabled.
        await q.updateGateway(ex, envRow.id, { enabled: false, isDefault: false });
        if (envRow.isDefault && sandbox) await q.updateGateway(ex, sandbox.id, { isDefault: true });
      }
    }
  }
}

export interface EnvGateway {
  channel: ChannelValue;
  provider: Provider;
  name: string;
  envSource: string;
  credentials: Credentials;
}
