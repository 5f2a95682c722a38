// The network failures every adapter maps the same way (providers/network.ts), as tests an
// adapter's transform test runs against its own toProviderError.
import { expect, it } from 'vitest';
import type { ProviderError } from './types.js';

export function networkError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

export function itMapsNetworkFailures(vendor: string, toProviderError: (e: unknown, now: Date) => ProviderError): void {
  const now = new Date('2025-01-01T12:00:00Z');

  it(`retries when ${vendor} cannot be reached`, () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_NETWORK']) {
      expect(toProviderError(networkError(code, `connect ${code} 127.0.0.1:9`), now)).toMatchObject({ ok: false, kind: 'transient', code });
    }
    expect(toProviderError(networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), now)).toMatchObject({
      message: `could not reach ${vendor} (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9)`,
    });
  });

  it('retries a timeout, however the HTTP client names it', () => {
    const axiosTimeout = networkError('ECONNABORTED', 'timeout of 500ms exceeded');
    const clarified = networkError('ETIMEDOUT', 'timeout of 500ms exceeded');
    const socket = networkError('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:443');
    for (const e of [axiosTimeout, clarified, socket]) {
      expect(toProviderError(e, now)).toEqual({
        ok: false,
        kind: 'transient',
        code: 'ETIMEDOUT',
        message: `${vendor} did not answer in time`,
      });
    }
    expect(toProviderError(networkError('ECONNABORTED', 'Request aborted'), now)).toMatchObject({
      kind: 'transient',
      code: 'ECONNABORTED',
    });
  });

  it('finds a network code on the cause', () => {
    const e = new Error('fetch failed', { cause: networkError('ECONNRESET', 'socket hang up') });
    expect(toProviderError(e, now)).toMatchObject({ kind: 'transient', code: 'ECONNRESET' });
  });
}
