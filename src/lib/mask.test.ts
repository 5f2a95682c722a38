import { describe, expect, it } from 'vitest';
import { ERASED } from '../domain/erasure.js';
import { maskDestination, maskEmail, maskPhone } from './mask.js';

describe('masking', () => {
  it('keeps the country code and the last four digits of a phone number', () => {
    expect(maskPhone('+14155550123')).toBe('+1*******0123');
    expect(maskPhone('+447911123456')).toBe('+4*******3456');
    expect(maskPhone('+1234')).toBe('*****');
  });

  it('keeps the first letter and the domain of an e-mail address', () => {
    expect(maskEmail('jane@example.com')).toBe('j***@example.com');
    expect(maskEmail('x@y.io')).toBe('x***@y.io');
    expect(maskEmail('broken')).toBe('***');
  });

  it('shows an erased destination as erased on every channel, not as a mask of the marker', () => {
    for (const channel of ['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM'] as const) expect(maskDestination(channel, ERASED)).toBe(ERASED);
  });
});
