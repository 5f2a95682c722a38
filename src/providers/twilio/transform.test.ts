import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { itMapsNetworkFailures } from '../network-failures.testing.js';
import { toProviderError } from './transform.js';

const now = new Date('2025-01-01T12:00:00Z');

/** The exception the SDK throws for an error answer, built by the SDK itself. */
function restException(statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  const error = new twilio.RestException({ statusCode, body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  return Object.assign(error, { headers });
}

describe('Twilio error mapping', () => {
  it('fails an invalid number permanently with Twilio code and a masked number', () => {
    const e = restException(400, {
      code: 21211,
      message: "The 'To' number +15005550001 is not a valid phone number.",
      more_info: 'https://www.twilio.com/docs/errors/21211',
      status: 400,
    });
    const result = toProviderError(e, now);
    expect(result).toEqual({
      ok: false,
      kind: 'permanent',
      code: '21211',
      message: "The 'To' number +1*******0001 is not a valid phone number.",
    });
    expect(result.message).not.toContain('5005550001');
  });

  it('fails an unsubscribed recipient permanently, as an opt-out Herald suppresses', () => {
    const e = restException(400, { code: 21610, message: 'Attempt to send to unsubscribed recipient', status: 400 });
    expect(toProviderError(e, now)).toMatchObject({
      kind: 'permanent',
      code: '21610',
      message: 'Attempt to send to unsubscribed recipient',
      optedOut: true,
    });
    const other = restException(400, { code: 21408, message: 'Permission to send an SMS has not been enabled', status: 400 });
    expect(toProviderError(other, now).optedOut).toBeUndefined();
  });

  it('fails wrong credentials permanently without quoting them, as a refusal of the gateway itself', () => {
    const e = restException(401, {
      code: 20003,
      message: 'Authenticate',
      more_info: 'https://www.twilio.com/docs/errors/20003',
      status: 401,
    });
    expect(toProviderError(e, now)).toMatchObject({ kind: 'permanent', code: '20003', message: 'Authenticate', aboutGateway: true });
  });

  it('tells a suspended account from a refused message', () => {
    const suspended = restException(403, { code: 20005, message: 'Account not active', status: 403 });
    expect(toProviderError(suspended, now)).toMatchObject({ kind: 'permanent', code: '20005', aboutGateway: true });
    const unsubscribed = restException(400, { code: 21610, message: 'Attempt to send to unsubscribed recipient', status: 400 });
    expect(toProviderError(unsubscribed, now).aboutGateway).toBeUndefined();
  });

  it('uses the HTTP status as the code when Twilio gives none', () => {
    const result = toProviderError(restException(404, 'not json'), now);
    expect(result).toMatchObject({ kind: 'permanent', code: '404' });
    expect(result.message).toBe('Twilio refused the message (HTTP 404)');
  });

  it('retries server errors', () => {
    expect(toProviderError(restException(503, { code: 20503, message: 'Service Unavailable', status: 503 }), now)).toMatchObject({
      kind: 'transient',
      code: '20503',
      message: 'Twilio is unavailable (HTTP 503): Service Unavailable',
    });
    expect(toProviderError(restException(500, ''), now)).toMatchObject({ kind: 'transient', code: '500' });
    expect(toProviderError(restException(502, '<html>bad gateway</html>'), now)).toMatchObject({ kind: 'transient', code: '502' });
  });

  it('retries a request timeout answered by Twilio', () => {
    expect(toProviderError(restException(408, ''), now)).toMatchObject({ kind: 'transient', code: '408' });
  });

  it('marks HTTP 429 as rate limited, with no time when Twilio names none', () => {
    const result = toProviderError(restException(429, { code: 20429, message: 'Too Many Requests', status: 429 }), now);
    expect(result).toMatchObject({ kind: 'rate_limited', code: '20429' });
    expect(result.retryAt).toBeUndefined();
  });

  it('marks Twilio code 20429 as rate limited whatever the status', () => {
    expect(toProviderError(restException(400, { code: 20429, message: 'Too Many Requests' }), now)).toMatchObject({
      kind: 'rate_limited',
      code: '20429',
    });
  });

  it('reads Retry-After in seconds or as a date', () => {
    const seconds = toProviderError(restException(429, { code: 20429 }, { 'retry-after': '30' }), now);
    expect(seconds.retryAt).toEqual(new Date('2025-01-01T12:00:30Z'));
    const date = toProviderError(restException(429, '', { 'Retry-After': 'Wed, 01 Jan 2025 12:05:00 GMT' }), now);
    expect(date).toMatchObject({ kind: 'rate_limited', code: '429' });
    expect(date.retryAt).toEqual(new Date('2025-01-01T12:05:00Z'));
    expect(toProviderError(restException(429, '', { 'retry-after': 'soon' }), now).retryAt).toBeUndefined();
  });

  it('reads an axios-style error with a response', () => {
    const e = { message: 'Request failed', response: { status: 429, headers: { 'retry-after': '2' } } };
    expect(toProviderError(e, now)).toMatchObject({ kind: 'rate_limited', retryAt: new Date('2025-01-01T12:00:02Z') });
  });

  itMapsNetworkFailures('Twilio', toProviderError);

  it('retries anything it does not recognise, masking numbers in the text', () => {
    const result = toProviderError(new Error('Unexpected token < in JSON for +447911123456'), now);
    expect(result).toMatchObject({ kind: 'transient', code: 'UNKNOWN' });
    expect(result.message).toContain('+4*******3456');
    expect(result.message).not.toContain('7911123456');
    expect(toProviderError('a string', now)).toMatchObject({ kind: 'transient', code: 'UNKNOWN' });
    expect(toProviderError(undefined, now)).toMatchObject({ kind: 'transient', code: 'UNKNOWN' });
  });

  it('reads the RFC 9457 errors of newer Twilio APIs', () => {
    const e = {
      status: 400,
      code: 21211,
      type: 'https://www.twilio.com/docs/errors/21211',
      title: 'Invalid To',
      detail: 'The number +15005550001 is invalid',
    };
    expect(toProviderError(e, now)).toMatchObject({ kind: 'permanent', code: '21211', message: 'The number +1*******0001 is invalid' });
  });
});
