// Folds what twitter-api-v2 throws (ApiResponseError, ApiRequestError,
// ApiPartialResponseError) and X's inline lookup errors into the three kinds the dispatcher
// acts on. Pure: it reads errors by shape, so it is testable without a server.
import { NETWORK_CODES, unexpected, unreachable } from '../network.js';
import { retryAfter } from '../retry-after.js';
import type { ProviderError } from '../types.js';

/** Which call failed: the words for a 403 or 404 differ. */
export type TwitterOperation = { operation: 'lookup'; handle: string } | { operation: 'dm' };

/** 403 problem types that are about the gateway's app, not about the recipient. */
const APP_NOT_PERMITTED = new Set(['client-forbidden', 'oauth1-permissions', 'unsupported-authentication', 'client-not-enrolled']);

interface ErrorShape {
  /** twitter-api-v2: 'response' | 'request' | 'partial-response'. */
  type?: unknown;
  /** ApiResponseError: the HTTP status. A Node error: its string code. */
  code?: unknown;
  message?: unknown;
  data?: unknown;
  headers?: unknown;
  rateLimit?: unknown;
  requestError?: unknown;
  /** Where ApiRequestError really keeps its cause (see requestCause). */
  _options?: { error?: unknown; requestError?: unknown };
  responseError?: unknown;
  response?: { statusCode?: unknown } | undefined;
  cause?: unknown;
}

/** X's v2 problem (RFC 7807-like) or an inline error of a 200 answer. */
export interface XProblem {
  title?: string;
  detail?: string;
  type?: string;
  status?: number;
  errors?: XProblem[];
  /** v1.1 style. */
  code?: number;
  message?: string;
}

interface RateLimitShape {
  limit?: number;
  remaining?: number;
  reset?: number;
  day?: RateLimitShape;
  userDay?: RateLimitShape;
}

export function toProviderError(error: unknown, op: TwitterOperation, now: Date = new Date()): ProviderError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const status = httpStatus(e);
  if (status !== undefined && e.type !== 'partial-response') return fromResponse(e, status, op, now);

  const networkCode = networkErrorCode(e);
  if (networkCode !== undefined) {
    const text = detailOf(requestCause(e)) || detailOf(e.cause) || stringOf(e.message);
    return unreachable('X', networkCode, text ? clip(text) : undefined);
  }

  if (e.type === 'partial-response') {
    // The answer was cut off or unreadable. For a DM it may have been sent; the retry
    // policy bounds what follows.
    return {
      ok: false,
      kind: 'transient',
      code: status !== undefined ? String(status) : 'PARTIAL_RESPONSE',
      message: `X's answer was cut off${status !== undefined ? ` (HTTP ${status})` : ''}`,
    };
  }

  // Anything else (a garbled body, a bug between us and the SDK): retrying is the safe side.
  const text = e.type === 'request' ? detailOf(requestCause(e)) || stringOf(e.message) : stringOf(e.message);
  return unexpected('X', text ? clip(text) : undefined);
}

/** Unknown handle: X answers 200 with an inline resource-not-found error, or 404. */
export function userNotFound(handle: string): ProviderError {
  return { ok: false, kind: 'permanent', code: 'USER_NOT_FOUND', message: `no X account @${clip(handle, 40)}` };
}

/** A users/by/username answer without `data`: its inline errors say why. */
export function lookupProblem(errors: XProblem[] | undefined, handle: string): ProviderError {
  const first = errors?.[0];
  const kind = problemKind(first?.type);
  if (!first || kind === 'resource-not-found') return userNotFound(handle);
  // e.g. resource-unavailable: "User has been suspended: [jane]."
  const detail = first.detail || first.title || first.message;
  return {
    ok: false,
    kind: 'permanent',
    code: kind ?? 'USER_UNAVAILABLE',
    message: `X account @${clip(handle, 40)} cannot be messaged${detail ? `: ${clip(detail)}` : ''}`,
  };
}

function fromResponse(e: ErrorShape, status: number, op: TwitterOperation, now: Date): ProviderError {
  const problem = problemOf(e.data);
  const kind = problemKind(problem.type);
  const code = kind ?? String(status);
  const detail = readableDetail(problem);

  if (status === 429 || status === 420) {
    const retryAt = resetAt(e, now);
    return {
      ok: false,
      kind: 'rate_limited',
      code,
      message: `X rate limit reached${retryAt ? `; X takes requests again at ${retryAt.toISOString()}` : ''}${detail ? ` (${detail})` : ''}`,
      retryAt,
    };
  }
  if (status >= 500 || status === 408) {
    return { ok: false, kind: 'transient', code, message: `X is unavailable (HTTP ${status})${detail ? `: ${detail}` : ''}` };
  }
  if (status === 401) {
    // X's 401 text is generic; the request (which carries the OAuth header) is never quoted.
    return {
      ok: false,
      kind: 'permanent',
      code,
      message: 'X refused the gateway credentials (HTTP 401): check the app key and secret and the access token and secret',
      aboutGateway: true,
    };
  }
  if (op.operation === 'lookup' && (status === 404 || kind === 'resource-not-found')) return userNotFound(op.handle);
  if (status === 403) {
    if (kind !== undefined && APP_NOT_PERMITTED.has(kind)) {
      return {
        ok: false,
        kind: 'permanent',
        code,
        message: `the gateway's X app may not ${op.operation === 'dm' ? 'send Direct Messages' : 'look up users'}${detail ? ` (${detail})` : ''}`,
        aboutGateway: true,
      };
    }
    if (op.operation === 'dm') {
      // Closed DMs, blocked, not following: X says "Forbidden" in one way or another.
      return {
        ok: false,
        kind: 'permanent',
        code,
        message: `the recipient does not accept Direct Messages from this account${detail ? ` (X: ${detail})` : ''}`,
      };
    }
  }
  if (op.operation === 'dm' && status === 404) {
    return { ok: false, kind: 'permanent', code, message: `X has no account with the recipient's user id${detail ? ` (${detail})` : ''}` };
  }
  return {
    ok: false,
    kind: 'permanent',
    code,
    message: `X refused the ${op.operation === 'dm' ? 'Direct Message' : 'user lookup'} (HTTP ${status})${detail ? `: ${detail}` : ''}`,
  };
}

/**
 * When X takes requests again: the reset (epoch seconds) of the exhausted limit, the
 * 24-hour ones included; else the window's reset; else Retry-After.
 */
export function resetAt(e: { rateLimit?: unknown; headers?: unknown }, now: Date): Date | undefined {
  const headers = headersOf(e.headers);
  const limit = (isObject(e.rateLimit) ? e.rateLimit : rateLimitFromHeaders(headers)) as RateLimitShape;
  const limits = [limit, limit.day, limit.userDay].filter((l): l is RateLimitShape => isObject(l) && validEpoch(l.reset));
  const exhausted = limits.filter((l) => l.remaining === 0);
  const chosen = (exhausted.length > 0 ? exhausted : limits.slice(0, 1)).map((l) => l.reset!);
  if (chosen.length > 0) return new Date(Math.max(...chosen) * 1000);
  return retryAfter(headers, now);
}

function rateLimitFromHeaders(h: Record<string, string>): RateLimitShape {
  const read = (prefix: string): RateLimitShape | undefined =>
    h[`${prefix}-reset`] === undefined
      ? undefined
      : { limit: Number(h[`${prefix}-limit`]), remaining: Number(h[`${prefix}-remaining`]), reset: Number(h[`${prefix}-reset`]) };
  return { ...read('x-rate-limit'), day: read('x-app-limit-24hour'), userDay: read('x-user-limit-24hour') };
}

function validEpoch(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function headersOf(raw: unknown): Record<string, string> {
  if (!isObject(raw)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = String(Array.isArray(v) ? v[0] : v).trim();
  }
  return out;
}

function httpStatus(e: ErrorShape): number | undefined {
  const candidates = [e.type === 'response' || e.type === undefined ? e.code : undefined, e.response?.statusCode];
  for (const c of candidates) {
    if (typeof c === 'number' && Number.isInteger(c) && c >= 400 && c <= 599) return c;
  }
  return undefined;
}

/**
 * The Node error behind an ApiRequestError. twitter-api-v2 1.29 builds it with
 * `{ request, error }` but its `requestError` getter reads `_options.requestError`, so the
 * getter is always undefined; the cause is on the (non-enumerable) `_options.error`.
 */
function requestCause(e: ErrorShape): unknown {
  return e.requestError ?? e._options?.error ?? e._options?.requestError;
}

function networkErrorCode(e: ErrorShape): string | undefined {
  const cause = requestCause(e);
  const inner = [e, cause, e.cause, isObject(cause) ? (cause as ErrorShape).cause : undefined];
  for (const candidate of inner) {
    if (!isObject(candidate)) continue;
    const c = candidate as ErrorShape;
    if (typeof c.code === 'string' && NETWORK_CODES.has(c.code)) return c.code === 'ESOCKETTIMEDOUT' ? 'ETIMEDOUT' : c.code;
    // twitter-api-v2 destroys the request with this text when its `timeout` fires.
    if (c.message === 'Request timeout.') return 'ETIMEDOUT';
  }
  if (e.type === 'request' && isObject(cause) && (cause as ErrorShape).message === 'Socket closed without any information.') {
    return 'ECONNRESET';
  }
  return undefined;
}

function problemOf(data: unknown): XProblem {
  if (!isObject(data)) return {};
  const d = data as XProblem;
  // A v2 problem at the top level, else the first inline/v1.1 error.
  if (typeof d.type === 'string' || typeof d.detail === 'string' || typeof d.title === 'string') return d;
  const first = Array.isArray(d.errors) ? d.errors[0] : undefined;
  return isObject(first) ? first : {};
}

/** "https://api.twitter.com/2/problems/usage-capped" or "…/error-troubleshooting#usage-capped" → "usage-capped". */
export function problemKind(type: unknown): string | undefined {
  if (typeof type !== 'string' || type === '' || type === 'about:blank') return undefined;
  const name = type.split(/[#/]/).filter(Boolean).pop();
  return name && /^[a-z0-9-]{1,64}$/i.test(name) ? name : undefined;
}

function readableDetail(problem: XProblem): string {
  const parts = [problem.detail, problem.message, problem.title].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  // "Forbidden", "Unauthorized", … say nothing the status does not.
  const text = parts.find(
    (p) =>
      !/^(forbidden|unauthorized|too many requests|service unavailable|internal server error|not found|bad request)\.?$/i.test(p.trim()),
  );
  return text ? clip(text.trim()) : '';
}

function detailOf(value: unknown): string {
  return isObject(value) ? stringOf((value as ErrorShape).message) : '';
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

function clip(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
