import { describe, expect, it } from 'vitest';
import { Refusal } from '../../domain/refusal.js';
import { timeOfUuidv7 } from '../../lib/ids.js';
import { dayRange } from './days.js';

const refusalOf = (from: string, to: string) => {
  try {
    dayRange(from, to);
  } catch (error) {
    if (error instanceof Refusal) return error.userErrors[0];
    throw error;
  }
  throw new Error(`${from} … ${to} was accepted`);
};

describe('dayRange', () => {
  it('spans whole UTC days, the last one included', () => {
    const range = dayRange('2026-03-01', '2026-03-31');
    expect(timeOfUuidv7(range.fromId).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(timeOfUuidv7(range.toId).toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(range).toMatchObject({ firstDay: '2026-03-01', lastDay: '2026-03-31' });
  });

  it('takes one day, and 366 days (a leap year) but not 367', () => {
    expect(timeOfUuidv7(dayRange('2026-03-01', '2026-03-01').toId).toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(dayRange('2028-01-01', '2028-12-31').lastDay).toBe('2028-12-31');
    expect(refusalOf('2027-01-01', '2028-01-02')).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'to'] });
  });

  it('refuses what is not a calendar day, naming the field', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '2026-3-1', '01/03/2026', '2026-03-01T00:00:00Z', '']) {
      expect(refusalOf(bad, '2026-03-31'), bad).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'from'] });
      expect(refusalOf('2026-03-01', bad), bad).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'to'] });
    }
  });

  it('refuses a range that ends before it starts', () => {
    expect(refusalOf('2026-03-02', '2026-03-01')).toMatchObject({ field: ['input', 'to'], message: 'to must not be before from' });
  });
});
