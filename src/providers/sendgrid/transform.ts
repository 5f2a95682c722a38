// Folds whatever @sendgrid/mail rejects with into the three kinds the dispatcher acts on.
// Pure: no SDK import, so it reads errors by shape (the SDK's ResponseError, an axios/Node
// network error) and stays testable without a server.
import { maskEmail } from '../../lib/mask.js';
import { networkCodeOf, unexpected, unreachable } from '../network.js';
import { headerValue, retryAfter } from '../retry-after.js';
import type { ProviderError } from '../types.js';

const MAX_MESSAGE_LENGTH = 500;

interface ErrorShape {
  code?: unknown;
  status?: unknown;
  message?: unknown;
  /** ResponseError: `{ headers, body }`; AxiosError: `{ status, headers, data }`. */
  response?: { status?: unknown; statusCode?: unknown; headers?: unknown; body?: unknown; data?: unknown };
  cause?: unknown;
}

/**
 * @param secrets strings that must never appear in the result (the gateway's API key);
 *   SendGrid does not quote keys back, but nothing here relies on that.
 */
export function toProviderError(error: unknown, now: Date = new Date(), secrets: string[] = []): ProviderError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const clean = (text: string) => redact(text, secrets);
  const status = httpStatus(e);

  if (status !== undefined) {
    const vendorMessage = clean(firstVendorMessage(e.response));
    if (status === 429) {
      return {
        ok: false,
        kind: 'rate_limited',
        code: '429',
        message: vendorMessage ? `SendGrid rate limit: ${vendorMessage}` : 'SendGrid rate limit reached',
        retryAt: rateLimitReset(e.response?.headers, now) ?? retryAfter(e.response?.headers, now),
      };
    }
    // 408: SendGrid gave up waiting for our request, so it did not take the message.
    if (status >= 500 || status === 408) {
      return {
        ok: false,
        kind: 'transient',
        code: String(status),
        message: `SendGrid is unavailable (HTTP ${status})${vendorMessage ? `: ${vendorMessage}` : ''}`,
      };
    }
    // 400 bad request, 401/403 key refused or lacking mail.send, 413 too large, and any other
    // 4xx: sending the same request again gets the same answer.
    return {
      ok: false,
      kind: 'permanent',
      code: String(status),
      message: vendorMessage || `SendGrid refused the message (HTTP ${status})`,
      // 401/403: the key, not the message.
      ...(status === 401 || status === 403 ? { aboutGateway: true } : {}),
    };
  }

  const networkCode = networkCodeOf(e);
  if (networkCode !== undefined) return unreachable('SendGrid', networkCode, typeof e.message === 'string' ? clean(e.message) : undefined);
  return unexpected('SendGrid', typeof e.message === 'string' && e.message ? clean(e.message) : undefined);
}

const EMAIL_IN_TEXT =
  /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/g;
/** SendGrid API keys: "SG." then two base64url parts. */
const SENDGRID_KEY_IN_TEXT = /SG\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;

/** A vendor text fit for a log: given secrets and anything key-like removed, e-mail addresses masked, bounded. */
export function redact(text: string, secrets: string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('***');
  }
  out = out.replace(SENDGRID_KEY_IN_TEXT, 'SG.***');
  out = out.replace(EMAIL_IN_TEXT, (email) => maskEmail(email));
  return out.trim().slice(0, MAX_MESSAGE_LENGTH);
}

function httpStatus(e: ErrorShape): number | undefined {
  // ResponseError keeps the status in `code` (a number); axios in `response.status`.
  const candidates = [typeof e.code === 'number' ? e.code : undefined, e.status, e.response?.status, e.response?.statusCode];
  for (const c of candidates) {
    if (typeof c === 'number' && Number.isInteger(c) && c >= 400 && c <= 599) return c;
  }
  return undefined;
}

/** SendGrid's `{ errors: [{ message, field, help }] }`: the first message. */
function firstVendorMessage(response: ErrorShape['response']): string {
  let body: unknown = response?.body ?? response?.data;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return '';
    }
  }
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return '';
  const first = errors.find(
    (x): x is { message: string } =>
      typeof (x as { message?: unknown } | null)?.message === 'string' && (x as { message: string }).message.trim() !== '',
  );
  return first?.message ?? '';
}

/** Anything below this cannot be an epoch second of SendGrid's lifetime (2001-09-09). */
const EPOCH_FLOOR = 1_000_000_000;

/**
 * X-RateLimit-Reset: when the limit resets, in epoch seconds; undefined when absent or
 * unreadable (Retry-After is read then). A number too small to be an epoch second is read
 * as seconds from now rather than as a moment in 1970.
 */
export function rateLimitReset(headers: unknown, now: Date): Date | undefined {
  const value = headerValue(headers, 'x-ratelimit-reset');
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value)) return undefined;
  const seconds = Number(value);
  return seconds < EPOCH_FLOOR ? new Date(now.getTime() + Math.round(seconds * 1000)) : new Date(Math.round(seconds * 1000));
}
