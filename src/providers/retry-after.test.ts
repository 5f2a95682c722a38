import { describe, expect, it } from 'vitest';
import { headerValue, retryAfter } from './retry-after.js';

const now = new Date('2025-01-01T12:00:00Z');

describe('retryAfter', () => {
  it('reads delay seconds from now', () => {
    expect(retryAfter({ 'retry-after': '30' }, now)).toEqual(new Date('2025-01-01T12:00:30Z'));
    expect(retryAfter({ 'Retry-After': 2 }, now)).toEqual(new Date('2025-01-01T12:00:02Z'));
    expect(retryAfter({ 'retry-after': '0' }, now)).toEqual(now);
  });

  it('reads an HTTP date', () => {
    expect(retryAfter({ 'Retry-After': 'Wed, 01 Jan 2025 12:05:00 GMT' }, now)).toEqual(new Date('2025-01-01T12:05:00Z'));
    expect(retryAfter({ 'retry-after': ['Wed, 01 Jan 2025 12:05:00 GMT', '10'] }, now)).toEqual(new Date('2025-01-01T12:05:00Z'));
  });

  it('is undefined when the header is absent', () => {
    expect(retryAfter({}, now)).toBeUndefined();
    expect(retryAfter({ 'retry-after': undefined }, now)).toBeUndefined();
    expect(retryAfter(undefined, now)).toBeUndefined();
  });

  it('is undefined for garbage and negative delays', () => {
    for (const value of ['soon', '', '1 2', '30s', 'Wed, 99 Foo 2025', '-5', '-0.5']) {
      expect(retryAfter({ 'retry-after': value }, now), value).toBeUndefined();
    }
  });
});

describe('headerValue', () => {
  it('finds a header whatever its case, trimmed', () => {
    expect(headerValue({ 'X-RateLimit-Reset': ' 1735732800 ' }, 'x-ratelimit-reset')).toBe('1735732800');
    expect(headerValue({ other: '1' }, 'x-ratelimit-reset')).toBeUndefined();
  });
});
