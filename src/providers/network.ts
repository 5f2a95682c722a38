// What every adapter says when a vendor could not be reached or its answer never came:
// the same codes, the same words, always transient (the request may never have arrived).
import type { ProviderError } from './types.js';

/** Node, axios and undici codes for "the request may never have reached the vendor, or its answer never came back". */
export const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

interface CodedError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** axios reports its own timeout as ECONNABORTED (or ETIMEDOUT) with "timeout of N ms exceeded". */
export function isAxiosTimeout(e: CodedError): boolean {
  return (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') && typeof e.message === 'string' && /timeout/i.test(e.message);
}

/** The network code of an error or its cause ('ETIMEDOUT' for any timeout), or undefined. */
export function networkCodeOf(e: CodedError): string | undefined {
  if (isAxiosTimeout(e)) return 'ETIMEDOUT';
  for (const candidate of [e, e.cause as CodedError | undefined]) {
    const code = candidate?.code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code === 'ESOCKETTIMEDOUT' ? 'ETIMEDOUT' : code;
  }
  return undefined;
}

/** A transient failure for a vendor that did not answer (`code` from networkCodeOf). */
export function unreachable(vendor: string, code: string, detail?: string): ProviderError {
  if (code === 'ETIMEDOUT') return { ok: false, kind: 'transient', code, message: `${vendor} did not answer in time` };
  return { ok: false, kind: 'transient', code, message: `could not reach ${vendor} (${code}${detail ? `: ${detail}` : ''})` };
}

/** Anything unrecognised (a garbled answer, a bug between us and the SDK): retrying is the safe side, and the retry policy bounds it. */
export function unexpected(vendor: string, detail?: string): ProviderError {
  return { ok: false, kind: 'transient', code: 'UNKNOWN', message: `unexpected error calling ${vendor}${detail ? `: ${detail}` : ''}` };
}
