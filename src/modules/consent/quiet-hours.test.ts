import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { heldUntil, type QuietHoursRule, quietUntil } from './quiet-hours.js';

const at = (iso: string) => new Date(iso);
const until = (start: string, end: string, timeZone: string, iso: string) =>
  quietUntil({ start, end }, timeZone, at(iso))?.toISOString() ?? null;

describe('quietUntil', () => {
  it('holds from the start (included) to the end (excluded) of a window within a day', () => {
    expect(until('09:00', '17:00', 'UTC', '2026-06-01T09:00:00Z')).toBe('2026-06-01T17:00:00.000Z');
    expect(until('09:00', '17:00', 'UTC', '2026-06-01T16:59:00Z')).toBe('2026-06-01T17:00:00.000Z');
    expect(until('09:00', '17:00', 'UTC', '2026-06-01T17:00:00Z')).toBeNull();
    expect(until('09:00', '17:00', 'UTC', '2026-06-01T08:59:59Z')).toBeNull();
  });

  it('holds across midnight until the next morning, or the same morning after it', () => {
    // 21:00–08:00 in New York (EDT, UTC−4 in June).
    expect(until('21:00', '08:00', 'America/New_York', '2026-06-02T03:00:00Z')).toBe('2026-06-02T12:00:00.000Z'); // 23:00 → 08:00 next day
    expect(until('21:00', '08:00', 'America/New_York', '2026-06-02T07:00:00Z')).toBe('2026-06-02T12:00:00.000Z'); // 03:00 → 08:00 same day
    expect(until('21:00', '08:00', 'America/New_York', '2026-06-02T01:00:00Z')).toBe('2026-06-02T12:00:00.000Z'); // 21:00 sharp
    expect(until('21:00', '08:00', 'America/New_York', '2026-06-02T00:59:00Z')).toBeNull(); // 20:59
    expect(until('21:00', '08:00', 'America/New_York', '2026-06-02T12:00:00Z')).toBeNull(); // 08:00 sharp
    expect(until('21:00', '08:00', 'America/New_York', '2026-06-02T16:00:00Z')).toBeNull(); // noon
  });

  describe('spring forward (clocks skip an hour)', () => {
    it('New York, 8 March 2026 (02:00 EST → 03:00 EDT): an end in the gap is the first instant after it', () => {
      // 01:00 EST, window until 02:30, which does not exist that night: 03:00 EDT (07:00Z), not 03:30 EDT.
      expect(until('21:00', '02:30', 'America/New_York', '2026-03-08T06:00:00Z')).toBe('2026-03-08T07:00:00.000Z');
      // A window across the change ends at 08:00 EDT, one hour less of UTC than the night before.
      expect(until('21:00', '08:00', 'America/New_York', '2026-03-08T04:00:00Z')).toBe('2026-03-08T12:00:00.000Z');
      expect(until('21:00', '08:00', 'America/New_York', '2026-03-07T04:00:00Z')).toBe('2026-03-07T13:00:00.000Z');
    });

    it('New York: a start in the gap opens at the first instant after it', () => {
      expect(until('02:30', '06:00', 'America/New_York', '2026-03-08T06:59:00Z')).toBeNull(); // 01:59 EST
      expect(until('02:30', '06:00', 'America/New_York', '2026-03-08T07:00:00Z')).toBe('2026-03-08T10:00:00.000Z'); // 03:00 EDT
    });

    it('New York: a window wholly inside the gap is empty that night', () => {
      for (const iso of ['2026-03-08T06:59:00Z', '2026-03-08T07:00:00Z', '2026-03-08T07:20:00Z']) {
        expect(until('02:10', '02:40', 'America/New_York', iso), iso).toBeNull();
      }
      expect(until('02:10', '02:40', 'America/New_York', '2026-03-09T06:20:00Z')).toBe('2026-03-09T06:40:00.000Z'); // the next night, 02:20 EDT
    });

    it('London, 29 March 2026 (01:00 GMT → 02:00 BST)', () => {
      expect(until('22:00', '01:30', 'Europe/London', '2026-03-29T00:45:00Z')).toBe('2026-03-29T01:00:00.000Z'); // 00:45 GMT → 02:00 BST
      expect(until('22:00', '07:00', 'Europe/London', '2026-03-28T23:00:00Z')).toBe('2026-03-29T06:00:00.000Z'); // 07:00 BST
    });
  });

  describe('fall back (clocks pass an hour twice)', () => {
    it('New York, 1 November 2026 (02:00 EDT → 01:00 EST): an end in the repeated hour is its first occurrence', () => {
      expect(until('21:00', '01:30', 'America/New_York', '2026-11-01T05:10:00Z')).toBe('2026-11-01T05:30:00.000Z'); // 01:10 EDT → 01:30 EDT
      // 01:10 EST, the second time the clocks show it: the window closed at the first 01:30.
      expect(until('21:00', '01:30', 'America/New_York', '2026-11-01T06:10:00Z')).toBeNull();
      // A window across the change ends at 08:00 EST, one hour more of UTC.
      expect(until('21:00', '08:00', 'America/New_York', '2026-11-01T02:00:00Z')).toBe('2026-11-01T13:00:00.000Z');
    });

    it('New York: a start in the repeated hour opens at its first occurrence', () => {
      expect(until('01:30', '03:00', 'America/New_York', '2026-11-01T05:29:00Z')).toBeNull(); // 01:29 EDT
      expect(until('01:30', '03:00', 'America/New_York', '2026-11-01T05:30:00Z')).toBe('2026-11-01T08:00:00.000Z'); // 01:30 EDT → 03:00 EST
    });

    it('London, 25 October 2026 (02:00 BST → 01:00 GMT)', () => {
      expect(until('23:00', '01:30', 'Europe/London', '2026-10-25T00:20:00Z')).toBe('2026-10-25T00:30:00.000Z'); // 01:20 BST → 01:30 BST
      expect(until('23:00', '01:30', 'Europe/London', '2026-10-25T01:20:00Z')).toBeNull(); // 01:20 GMT, the second time
      expect(until('22:00', '07:00', 'Europe/London', '2026-10-24T22:00:00Z')).toBe('2026-10-25T07:00:00.000Z'); // 07:00 GMT
    });
  });

  it('reads the window in the zone given, far from UTC on either side', () => {
    // Auckland in January is UTC+13 (NZDT): 10:00Z on the 15th is 23:00 there, already inside.
    expect(until('21:00', '07:00', 'Pacific/Auckland', '2026-01-15T10:00:00Z')).toBe('2026-01-15T18:00:00.000Z');
    // Kolkata is UTC+05:30 all year: 17:00Z is 22:30 there, and the window ends at 06:30 IST, 01:00Z.
    expect(until('22:00', '06:30', 'Asia/Kolkata', '2026-06-01T17:00:00Z')).toBe('2026-06-02T01:00:00.000Z');
    expect(until('22:00', '06:30', 'Asia/Kolkata', '2026-06-01T16:29:00Z')).toBeNull(); // 21:59 IST
    expect(until('22:00', '06:30', 'Asia/Kolkata', '2026-06-02T00:59:00Z')).toBe('2026-06-02T01:00:00.000Z'); // 06:29 IST
    // One instant, three zones: midnight in Auckland (NZST, UTC+12), 17:30 in Kolkata, noon in UTC.
    const noon = '2026-06-01T12:00:00Z';
    expect(until('21:00', '08:00', 'Pacific/Auckland', noon)).toBe('2026-06-01T20:00:00.000Z');
    expect(until('21:00', '08:00', 'Asia/Kolkata', noon)).toBeNull();
    expect(until('21:00', '08:00', 'UTC', noon)).toBeNull();
  });

  it('refuses a zone that is not IANA', () => {
    expect(() => until('21:00', '08:00', 'Mars/Olympus_Mons', '2026-06-01T12:00:00Z')).toThrow(/not an IANA time zone/);
  });

  it('never holds a message again at the moment it was held until, and holds every minute before it until then', () => {
    const zones = ['America/New_York', 'Europe/London', 'Pacific/Auckland', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'];
    const clock = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${pad(h)}:${pad(m)}`);
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        clock,
        clock,
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }),
        (zone, start, end, ms) => {
          fc.pre(start !== end);
          const held = quietUntil({ start, end }, zone, new Date(ms));
          if (!held) return;
          expect(held.getTime()).toBeGreaterThan(ms);
          expect(held.getTime() - ms).toBeLessThanOrEqual(25 * 3_600_000);
          expect(quietUntil({ start, end }, zone, held)).toBeNull();
          expect(quietUntil({ start, end }, zone, new Date(Math.max(ms, held.getTime() - 60_000)))).toEqual(held);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('heldUntil', () => {
  const rules: QuietHoursRule[] = [
    { channel: 'SMS', start: '21:00', end: '08:00', categories: ['MARKETING'] },
    { channel: 'EMAIL', start: '22:00', end: '07:00', categories: ['MARKETING', 'TRANSACTIONAL'] },
  ];
  const night = at('2026-06-02T03:00:00Z'); // 23:00 in New York

  it('holds a message of a category the channel’s window lists until the window ends', () => {
    const send = { channel: 'SMS', category: 'MARKETING', timeZone: 'America/New_York', at: night } as const;
    expect(heldUntil(rules, send)?.toISOString()).toBe('2026-06-02T12:00:00.000Z');
    expect(heldUntil(rules, { ...send, channel: 'EMAIL', category: 'TRANSACTIONAL' })?.toISOString()).toBe('2026-06-02T11:00:00.000Z');
  });

  it('lets an urgent message, a category the window does not list, or a channel without a window go', () => {
    const send = { channel: 'SMS', category: 'MARKETING', timeZone: 'America/New_York', at: night } as const;
    expect(heldUntil(rules, { ...send, urgent: true })).toBeNull();
    expect(heldUntil(rules, { ...send, urgent: false })).not.toBeNull();
    expect(heldUntil(rules, { ...send, category: 'TRANSACTIONAL' })).toBeNull();
    expect(heldUntil(rules, { ...send, channel: 'WHATSAPP' })).toBeNull();
    expect(heldUntil([], send)).toBeNull();
  });

  it('reads the window in the zone it is given: the same instant is night in one and day in another', () => {
    const send = { channel: 'SMS', category: 'MARKETING', at: at('2026-06-01T12:00:00Z') } as const;
    expect(heldUntil(rules, { ...send, timeZone: 'Pacific/Auckland' })?.toISOString()).toBe('2026-06-01T20:00:00.000Z');
    expect(heldUntil(rules, { ...send, timeZone: 'Asia/Kolkata' })).toBeNull();
  });
});

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
