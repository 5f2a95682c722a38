// Folds whatever the twilio SDK throws into the three kinds the dispatcher acts on.
// Pure: no SDK import, so it reads errors by shape (a RestException, an axios/Node
// network error) and stays testable without a server.
import { maskPhone } from '../../lib/mask.js';
import { networkCodeOf, unexpected, unreachable } from '../network.js';
import { retryAfter } from '../retry-after.js';
import type { ProviderError } from '../types.js';

/**
 * Twilio's codes that refuse the account rather than the message: 20003 authentication
 * failed, 20005 account not active, 20006 access denied, 20008 test credentials refused.
 */
const GATEWAY_REFUSALS = new Set(['20003', '20005', '20006', '20008']);

/** "Attempt to send to unsubscribed recipient": the number replied STOP to this sender. */
const TWILIO_OPTED_OUT = '21610';

/** Twilio's own code for "too many requests", sent with HTTP 429. */
const TWILIO_RATE_LIMIT_CODE = 20429;

interface ErrorShape {
  status?: unknown;
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  title?: unknown;
  headers?: unknown;
  response?: { status?: unknown; headers?: unknown; data?: unknown };
  cause?: unknown;
}

export function toProviderError(error: unknown, now: Date = new Date()): ProviderError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
  const status = httpStatus(e);

  if (status !== undefined) {
    const twilioCode = typeof e.code === 'number' || (typeof e.code === 'string' && /^\d+$/.test(e.code)) ? String(e.code) : undefined;
    const vendorMessage = readableVendorMessage(e);
    if (status === 429 || twilioCode === String(TWILIO_RATE_LIMIT_CODE)) {
      return {
        ok: false,
        kind: 'rate_limited',
        code: twilioCode ?? '429',
        message: vendorMessage ? `Twilio rate limit: ${vendorMessage}` : 'Twilio rate limit reached',
        retryAt: retryAfter(e.headers ?? e.response?.headers, now),
      };
    }
    // 408: Twilio gave up waiting for us; the message was not accepted, so a retry is safe.
    if (status >= 500 || status === 408) {
      return {
        ok: false,
        kind: 'transient',
        code: twilioCode ?? String(status),
        message: `Twilio is unavailable (HTTP ${status})${vendorMessage ? `: ${vendorMessage}` : ''}`,
      };
    }
    return {
      ok: false,
      kind: 'permanent',
      code: twilioCode ?? String(status),
      message: vendorMessage || `Twilio refused the message (HTTP ${status})`,
      ...(status === 401 || (twilioCode !== undefined && GATEWAY_REFUSALS.has(twilioCode)) ? { aboutGateway: true } : {}),
      ...(twilioCode === TWILIO_OPTED_OUT ? { optedOut: true } : {}),
    };
  }

  const networkCode = networkCodeOf(e);
  if (networkCode !== undefined)
    return unreachable('Twilio', networkCode, typeof e.message === 'string' ? maskPhones(e.message) : undefined);
  return unexpected('Twilio', typeof e.message === 'string' && e.message ? maskPhones(e.message) : undefined);
}

export function maskPhones(text: string): string {
  return text.replace(/\+\d{6,15}/g, (phone) => maskPhone(phone));
}

function httpStatus(e: ErrorShape): number | undefined {
  const candidates = [e.status, e.response?.status];
  for (const c of candidates) {
    if (typeof c === 'number' && Number.isInteger(c) && c >= 400 && c <= 599) return c;
  }
  return undefined;
}

function readableVendorMessage(e: ErrorShape): string {
  // RestException: `message` is Twilio's text; TwilioServiceException (RFC 9457): `detail`,
  // and a `message` made of the status and `title`.
  const parts = [e.detail, e.message, e.title].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  const text = parts.find((p) => !/^\[HTTP \d+\] Failed to execute request$/.test(p)) ?? '';
  return maskPhones(text.trim()).slice(0, 500);
}
