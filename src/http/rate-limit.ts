// Rate limits, in this process's memory (each API process counts on its own):
// - requests on /graphql (@fastify/rate-limit), checked before the body is read: a request
//   with a valid API key spends its key's budget only; without one, or with a bad one, its
//   client address's budget;
// sendsRequested counts the sends an operation names (send budgets are spent in modules/budgets).
import { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { type DocumentNode, Kind, type OperationDefinitionNode, type SelectionNode, valueFromASTUntyped } from 'graphql';
import type { AuthInfo, Context } from '../graphql/context.js';
import { bearerKey } from '../lib/api-key.js';

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number; never: boolean };

/** Token buckets by key: `burst` tokens at most, refilled at `perSecond`. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Spends `cost` tokens of `key`, or says how long until it could (nothing is spent then). */
  take(key: string, cost = 1): Take {
    const now = this.now();
    const bucket = this.refill(key, now);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { ok: true };
    }
    const never = cost > this.burst;
    const wait = never ? 60 : (cost - bucket.tokens) / this.perSecond;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(wait)), never };
  }

  /** Whether `key` has at least one token left (spends nothing). */
  has(key: string): boolean {
    return this.refill(key, this.now()).tokens >= 1;
  }

  private refill(key: string, now: number) {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    }
    return bucket;
  }

  // Full buckets carry no information; if every bucket is in use, the oldest go.
  private prune(now: number): void {
    const fullAfterMs = (this.burst / this.perSecond) * 1000;
    for (const [key, bucket] of this.buckets) if (now - bucket.at >= fullAfterMs) this.buckets.delete(key);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}

export function rateLimitedBody(message: string, retryAfterSeconds: number): string {
  return JSON.stringify({ errors: [{ message, extensions: { code: 'RATE_LIMITED', retryAfterSeconds } }] });
}

/** Thrown by the request limiter; the app's error handler answers it with rateLimitedBody. */
export class RateLimitedError extends Error {
  readonly statusCode = 429;
  readonly code = 'RATE_LIMITED';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests: try again in ${retryAfterSeconds} s`);
  }
}

/**
 * Route settings for @fastify/rate-limit: `burst` requests per window of burst/perSecond
 * seconds, the same long-run rate as a token bucket of that rate and burst (a fixed window
 * lets up to twice the burst through across a window's edge). A request bearing a valid
 * key is counted under the key's id, so traffic from the same address (every client
 * behind one load balancer) cannot use it up; one without a key, or with a key that is
 * unknown or revoked, under its client address (an IPv6 address by its /64), so guessing
 * keys is throttled like anonymous traffic. Undefined when perSecond is 0 (no limit).
 */
export function requestRateLimit(
  options: { perSecond: number; burst: number },
  authenticate: (key: string) => Promise<AuthInfo | null>,
): RateLimitOptions | undefined {
  if (options.perSecond <= 0) return undefined;
  return {
    max: options.burst,
    timeWindow: Math.max(1, Math.ceil((options.burst * 1000) / options.perSecond)),
    async keyGenerator(request: FastifyRequest) {
      const key = bearerKey(request.headers.authorization);
      // The key cache answers this (a database read only for a key not seen lately); a
      // database outage counts the request by address, and the request itself then gets 503.
      const auth = key ? await authenticate(key).catch(() => null) : null;
      return auth ? `key:${auth.apiKeyId}` : `ip:${normalizeIP(request.ip)}`;
    },
    // Preflights carry no key and are answered by CORS before any work.
    allowList: (request: FastifyRequest) => request.method === 'OPTIONS',
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
  };
}

/** Sends one call of each mutation asks for; notifyBillingCycle counts its invoices. */
const SEND_WEIGHTS: Record<string, (args: Record<string, unknown>) => number> = {
  sendSms: () => 1,
  sendInvoiceDM: () => 1,
  updateOrderStatus: () => 1,
  notifyBillingCycle: (args) => {
    const invoices = (args.input as { invoices?: unknown } | undefined)?.invoices;
    return Array.isArray(invoices) ? Math.max(1, invoices.length) : 1;
  },
};

/** The sends an operation asks for (root mutation fields, through fragments and aliases). */
export function sendsRequested(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> = {}): number {
  if (operation.operation !== 'mutation') return 0;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const seen = new Set<string>();
  let total = 0;
  const walk = (selections: readonly SelectionNode[]): void => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) {
        const weight = SEND_WEIGHTS[selection.name.value];
        if (!weight) continue;
        const args = Object.fromEntries((selection.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, variables)]));
        total += weight(args);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet.selections);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue;
        seen.add(fragment.name.value);
        walk(fragment.selectionSet.selections);
      }
    }
  };
  walk(operation.selectionSet.selections);
  return total;
}
