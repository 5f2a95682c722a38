import { describe, expect, it } from 'vitest';
import { itMapsNetworkFailures } from '../network-failures.testing.js';
import { toProviderError } from './transform.js';

const now = new Date('2025-01-01T12:00:00Z');
const apiKey = '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';

/**
 * What @sendgrid/mail rejects with for an HTTP error: its ResponseError carries the status
 * in `code`, the status text in `message` and `{ headers, body }` in `response` (the real
 * class, thrown by the real SDK, is covered in test/sendgrid-provider.test.ts).
 */
function responseError(status: number, body: unknown, headers: Record<string, string> = {}, statusText = 'Bad Request') {
  return Object.assign(new Error(statusText), { code: status, response: { headers, body } });
}

const sendgridErrors = (...messages: string[]) => ({ errors: messages.map((message) => ({ message, field: null, help: null })) });

describe('SendGrid error mapping', () => {
  it("fails a bad request permanently with SendGrid's first error message", () => {
    const e = responseError(400, {
      errors: [
        { message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email', help: 'http://sendgrid.com/docs/…' },
        { message: 'The subject is required.', field: 'subject', help: null },
      ],
    });
    expect(toProviderError(e, now)).toEqual({ ok: false, kind: 'permanent', code: '400', message: 'Does not contain a valid address.' });
  });

  it('masks e-mail addresses in the vendor message', () => {
    const e = responseError(
      403,
      sendgridErrors(
        'The from address jane.doe@example.com does not match a verified Sender Identity. Mail cannot be sent to bob@mail.example.org',
      ),
    );
    const result = toProviderError(e, now);
    expect(result).toMatchObject({ kind: 'permanent', code: '403' });
    expect(result.message).toBe(
      'The from address j***@example.com does not match a verified Sender Identity. Mail cannot be sent to b***@mail.example.org',
    );
    expect(result.message).not.toContain('jane.doe');
  });

  it('fails a refused key permanently as a refusal of the gateway itself, never quoting the key', () => {
    const e = responseError(
      401,
      sendgridErrors(`The provided authorization grant is invalid, expired, or revoked: ${apiKey}`),
      {},
      'Unauthorized',
    );
    const result = toProviderError(e, now, [apiKey]);
    expect(result).toEqual({
      ok: false,
      kind: 'permanent',
      code: '401',
      message: 'The provided authorization grant is invalid, expired, or revoked: ***',
      aboutGateway: true,
    });
  });

  it('removes anything shaped like a SendGrid key even when not told which', () => {
    const result = toProviderError(responseError(401, sendgridErrors(`bad key ${apiKey}`)), now);
    expect(result.message).toBe('bad key SG.***');
  });

  it('fails a too-large message permanently', () => {
    const e = responseError(
      413,
      sendgridErrors('The JSON payload you have included in your request is too large.'),
      {},
      'Payload Too Large',
    );
    expect(toProviderError(e, now)).toMatchObject({
      kind: 'permanent',
      code: '413',
      message: 'The JSON payload you have included in your request is too large.',
    });
  });

  it('reads a body that came back as JSON text', () => {
    const e = responseError(400, JSON.stringify(sendgridErrors('The content value must be a string at least one character in length.')));
    expect(toProviderError(e, now)).toMatchObject({
      kind: 'permanent',
      message: 'The content value must be a string at least one character in length.',
    });
  });

  it('names the HTTP status when SendGrid gives no message', () => {
    for (const body of ['', '<html>nope</html>', null, { errors: [] }, { errors: [{ field: 'x' }] }]) {
      expect(toProviderError(responseError(400, body), now)).toEqual({
        ok: false,
        kind: 'permanent',
        code: '400',
        message: 'SendGrid refused the message (HTTP 400)',
      });
    }
    expect(toProviderError(responseError(404, ''), now)).toMatchObject({ kind: 'permanent', code: '404' });
  });

  it('retries server errors', () => {
    expect(toProviderError(responseError(503, sendgridErrors('Service Unavailable')), now)).toEqual({
      ok: false,
      kind: 'transient',
      code: '503',
      message: 'SendGrid is unavailable (HTTP 503): Service Unavailable',
    });
    expect(toProviderError(responseError(500, ''), now)).toMatchObject({
      kind: 'transient',
      code: '500',
      message: 'SendGrid is unavailable (HTTP 500)',
    });
    expect(toProviderError(responseError(502, '<html>bad gateway</html>'), now)).toMatchObject({ kind: 'transient', code: '502' });
    expect(toProviderError(responseError(408, ''), now)).toMatchObject({ kind: 'transient', code: '408' });
  });

  it('reports a rate limit with the time X-RateLimit-Reset names', () => {
    const reset = Math.floor(now.getTime() / 1000) + 42;
    const e = responseError(429, sendgridErrors('too many requests'), {
      'x-ratelimit-limit': '600',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(reset),
    });
    expect(toProviderError(e, now)).toEqual({
      ok: false,
      kind: 'rate_limited',
      code: '429',
      message: 'SendGrid rate limit: too many requests',
      retryAt: new Date('2025-01-01T12:00:42Z'),
    });
  });

  it('reads the reset header whatever its case', () => {
    const e = responseError(429, '', { 'X-RateLimit-Reset': '1735732800' });
    expect(toProviderError(e, now)).toMatchObject({
      kind: 'rate_limited',
      message: 'SendGrid rate limit reached',
      retryAt: new Date('2025-01-01T12:00:00Z'),
    });
  });

  it('reports a rate limit without a time when the reset header is missing or unreadable', () => {
    expect(toProviderError(responseError(429, ''), now)).toMatchObject({ kind: 'rate_limited', code: '429', retryAt: undefined });
    expect(toProviderError(responseError(429, '', { 'x-ratelimit-reset': 'soon' }), now).retryAt).toBeUndefined();
  });

  it('reads Retry-After when X-RateLimit-Reset is missing or unreadable', () => {
    expect(toProviderError(responseError(429, '', { 'Retry-After': '30' }), now).retryAt).toEqual(new Date('2025-01-01T12:00:30Z'));
    expect(toProviderError(responseError(429, '', { 'x-ratelimit-reset': 'soon', 'retry-after': '5' }), now).retryAt).toEqual(
      new Date('2025-01-01T12:00:05Z'),
    );
  });

  it('reads a reset too small to be a date as seconds from now', () => {
    expect(toProviderError(responseError(429, '', { 'x-ratelimit-reset': '30' }), now).retryAt).toEqual(new Date('2025-01-01T12:00:30Z'));
  });

  it('reads an axios-style error with a response', () => {
    const e = {
      message: 'Request failed with status code 429',
      code: 'ERR_BAD_REQUEST',
      response: { status: 429, headers: { 'x-ratelimit-reset': '1735732860' }, data: sendgridErrors('too many requests') },
    };
    expect(toProviderError(e, now)).toMatchObject({
      kind: 'rate_limited',
      message: 'SendGrid rate limit: too many requests',
      retryAt: new Date('2025-01-01T12:01:00Z'),
    });
  });

  itMapsNetworkFailures('SendGrid', toProviderError);

  it('retries anything it does not recognise, with addresses masked and the key removed', () => {
    const result = toProviderError(new Error(`Unexpected token < for jane@example.com using ${apiKey}`), now, [apiKey]);
    expect(result).toEqual({
      ok: false,
      kind: 'transient',
      code: 'UNKNOWN',
      message: 'unexpected error calling SendGrid: Unexpected token < for j***@example.com using ***',
    });
    expect(toProviderError('a string', now)).toMatchObject({ kind: 'transient', code: 'UNKNOWN' });
    expect(toProviderError(undefined, now)).toMatchObject({ kind: 'transient', code: 'UNKNOWN' });
  });

  it('keeps a long vendor message bounded', () => {
    const result = toProviderError(responseError(400, sendgridErrors('x'.repeat(5_000))), now);
    expect(result.message).toHaveLength(500);
  });
});
