// Which gateway a send goes through: the channel's routing (PRIORITY order, or WEIGHTED
// shares) among its enabled gateways whose breaker admits the send, skipping the gateways
// this round of attempts already failed on. A message pinned to a subscription's gateway
// stays there unless the routing allows failover for pinned gateways. The tenant's routing
// is read at most once a second per worker.
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/client.js';
import type { ChannelValue } from '../db/schema/index.js';
import * as gatewaysQ from '../modules/gateways/gateways.queries.js';
import type { MessageRow } from '../modules/messages/messages.queries.js';
import { assemble, type ChannelRouting } from '../modules/routing/routing.js';
import * as routingQ from '../modules/routing/routing.queries.js';
import type { HealthTracker } from './health.js';

const ROUTING_TTL_MS = 1_000;
/** Tenant-channels whose routing a worker keeps at once; the least recently used goes first. */
const ROUTING_CACHE_MAX = 10_000;

type Route = ChannelRouting['routes'][number];

export class Router {
  // A read still under way is shared by the sends that need it; a failed one is not kept.
  private readonly cache = new LRUCache<string, Promise<ChannelRouting>>({ max: ROUTING_CACHE_MAX, ttl: ROUTING_TTL_MS });

  constructor(
    private readonly deps: { db: Database; health: HealthTracker },
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * The gateway for this attempt: the first route (in strategy order) not in `avoid` whose
   * breaker admits a send (a half-open one takes its probe here); with every route open,
   * the first one not avoided, so messages keep moving through ordinary retries. Null when
   * every route was avoided, or the channel has no route at all: the caller keeps the
   * message's own gateway.
   */
  async pick(message: MessageRow, own: gatewaysQ.GatewayRow | undefined, avoid: ReadonlySet<string>): Promise<gatewaysQ.GatewayRow | null> {
    const routes = await this.routesFor(message, own);
    if (routes === 'pinned') return own ?? null;
    const open = routes.filter((r) => !avoid.has(r.gateway.id));
    const now = new Date();
    // A gateway the provider has paused (a rate limit) is passed over while another is ready.
    const ready = open.filter((r) => !isPaused(r.gateway, now));
    return (ready.find((r) => this.deps.health.admits(r.gateway.id, now)) ?? open[0])?.gateway ?? null;
  }

  /** Another gateway a failed attempt may move to at once: not avoided, breaker not open. */
  async alternative(
    message: MessageRow,
    own: gatewaysQ.GatewayRow | undefined,
    avoid: ReadonlySet<string>,
  ): Promise<gatewaysQ.GatewayRow | null> {
    const routes = await this.routesFor(message, own);
    if (routes === 'pinned') return null;
    const now = new Date();
    return (
      routes.find((r) => !avoid.has(r.gateway.id) && !isPaused(r.gateway, now) && this.deps.health.state(r.gateway.id, now) !== 'OPEN')
        ?.gateway ?? null
    );
  }

  /** The routes in the order this attempt tries them, or 'pinned'. */
  private async routesFor(message: MessageRow, own: gatewaysQ.GatewayRow | undefined): Promise<Route[] | 'pinned'> {
    const routing = await this.routingOf(message.tenantId, message.channel);
    if (message.gatewayPinned && !routing.failoverPinned) return 'pinned';
    const usable = routing.routes.filter((r) => r.gateway.enabled);
    if (usable.length === 0) return own ? [{ gateway: own, priority: 0, weight: null }] : [];
    await this.deps.health.refresh(usable.map((r) => r.gateway.id));
    return routing.strategy === 'WEIGHTED' ? weightedOrder(usable, this.random) : usable;
  }

  private routingOf(tenantId: string, channel: ChannelValue): Promise<ChannelRouting> {
    const key = `${tenantId}:${channel}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const routing = (async () => {
      const [gateways, rows] = await Promise.all([
        gatewaysQ.listGateways(this.deps.db, tenantId, channel),
        routingQ.routingOf(this.deps.db, tenantId, channel),
      ]);
      return assemble(channel, gateways, rows.routing, rows.routes);
    })();
    routing.catch(() => this.cache.delete(key));
    this.cache.set(key, routing);
    return routing;
  }
}

/** Paused by a provider's rate limit until later than now (as the routing last read it, at most a second ago). */
function isPaused(gateway: gatewaysQ.GatewayRow, now: Date): boolean {
  return gateway.pausedUntil !== null && gateway.pausedUntil.getTime() > now.getTime();
}

/** The routes drawn one after another, each with a chance in proportion to its weight among those left. */
export function weightedOrder<R extends { weight: number | null }>(routes: R[], random: () => number): R[] {
  const left = [...routes];
  const ordered: R[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, r) => sum + Math.max(0, r.weight ?? 0), 0);
    let draw = random() * total;
    let i = left.findIndex((r) => (draw -= Math.max(0, r.weight ?? 0)) < 0);
    if (i < 0) i = left.length - 1;
    ordered.push(left.splice(i, 1)[0]);
  }
  return ordered;
}
