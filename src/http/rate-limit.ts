// Request rate limits on /graphql (@fastify/rate-limit), in this process's memory (each API
// process counts on its own), checked before the body is read: a request with a valid API
// key spends its key's budget only; without one, or with a bad one, its client address's
// budget. Send budgets are spent in modules/budgets, for HTTP and WebSocket alike.
import { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import type { AuthInfo } from '../graphql/context.js';
import { bearerKey } from '../lib/api-key.js';

export function rateLimitedBody(message: string, retryAfterSeconds: number): string {
  return JSON.stringify({ errors: [{ message, extensions: { code: 'RATE_LIMITED', retryAfterSeconds } }] });
}

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';

/**
 * The media type of a GraphQL response refused before Apollo sees it, chosen from Accept
 * with the negotiator Apollo uses for its own answers, in Apollo's order of preference;
 * application/json when Accept allows neither.
 */
export function graphqlMediaType(accept: string | undefined): string {
  if (!accept) return JSON_TYPE;
  return new Negotiator({ headers: { accept } }).mediaType([JSON_TYPE, GRAPHQL_RESPONSE_TYPE]) ?? JSON_TYPE;
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
