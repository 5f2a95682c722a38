// Rate limits, in this process's memory (each API process counts on its own):
// - requests per API key on /graphql, a token bucket, checked before the body is read;
//   requests without a key, and requests whose key turned out unknown, spend their IP's bucket;
// - sends per tenant per minute (cost control), checked on the operation before it runs.
import { HeaderMap, type GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { type DocumentNode, GraphQLError, Kind, type OperationDefinitionNode, type SelectionNode, valueFromASTUntyped } from 'graphql';
import type { Context } from '../graphql/context.js';
import { hashApiKey } from '../lib/api-key.js';
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

/**
 * Requests per API key on `path`. The bucket is keyed by the key's hash (the key itself
 * is never kept); a request without a key spends its IP's bucket, and so does every
 * answer of 401, so guessing keys from one address is throttled like anonymous traffic.
 */
export function registerRequestRateLimit(app: FastifyInstance, path: string, options: { perSecond: number; burst: number }): void {
  if (options.perSecond <= 0) return;
  const buckets = new TokenBuckets(options.perSecond, options.burst);
  const bucketOf = (authorization: string | undefined, ip: string): string => {
    const key = bearerKey(authorization);
    return key ? `key:${hashApiKey(key)}` : `ip:${ip}`;
  };

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== path || request.method === 'OPTIONS') return;
    const ipBucket = `ip:${request.ip}`;
    const bucket = bucketOf(request.headers.authorization, request.ip);
    // An address whose anonymous or failed requests used up its bucket waits, whatever key it sends now.
    const taken = bucket !== ipBucket && !buckets.has(ipBucket) ? buckets.take(ipBucket) : buckets.take(bucket);
    if (taken.ok) return;
    return reply
      .code(429)
      .header('retry-after', String(taken.retryAfterSeconds))
      .type('application/json')
      .send(rateLimitedBody(`Too many requests: try again in ${taken.retryAfterSeconds} s`, taken.retryAfterSeconds));
  });

  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== path || reply.statusCode !== 401) return;
    if (bucketOf(request.headers.authorization, request.ip).startsWith('key:')) buckets.take(`ip:${request.ip}`);
  });
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

/**
 * Cost control: at most `perMinute` sends per tenant (a bucket refilling perMinute/60 per
 * second). Returns the error for an operation over it, having spent nothing; undefined
 * (and the sends counted) otherwise.
 */
export function createSendLimiter(perMinute: number) {
  if (perMinute <= 0) return undefined;
  const buckets = new TokenBuckets(perMinute / 60, perMinute);
  return (requestContext: GraphQLRequestContextDidResolveOperation<Context>): GraphQLError | undefined => {
    const tenantId = requestContext.contextValue.auth?.tenantId;
    if (!tenantId || !requestContext.operation) return undefined;
    const sends = sendsRequested(requestContext.document, requestContext.operation, requestContext.request.variables ?? {});
    if (sends === 0) return undefined;
    const taken = buckets.take(tenantId, sends);
    if (taken.ok) return undefined;
    const message = taken.never
      ? `This call asks for ${sends} sends, more than the ${perMinute} per minute this tenant may make: split it into smaller calls`
      : `This tenant may make ${perMinute} sends per minute: try again in ${taken.retryAfterSeconds} s`;
    return new GraphQLError(message, {
      extensions: {
        code: 'RATE_LIMITED',
        retryAfterSeconds: taken.retryAfterSeconds,
        http: { status: 429, headers: new HeaderMap([['retry-after', String(taken.retryAfterSeconds)]]) },
      },
    });
  };
}
