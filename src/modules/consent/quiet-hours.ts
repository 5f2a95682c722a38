// Quiet hours: a daily window, in the recipient's time zone, during which messages of some
// categories wait. A message whose send time falls inside the window is held until the
// window ends. Pure, with the time given by the caller, so DST dates are tested without a clock.
//
// A window's start and end are local clock times. Turning one into an instant on a given day
// uses one rule for both:
// - a time the clocks skip (spring forward: 02:30 on 8 March 2026 in New York) becomes the
//   first instant after the gap (03:00 EDT). Luxon alone would move it by the gap's length
//   (03:30), which is not when the window's last skipped minute ends.
// - a time the clocks pass twice (fall back: 01:30 on 1 November 2026 in New York) is its
//   first occurrence (01:30 EDT), so a window ending then ends before the repeated hour; a
//   message sent in the repeated hour (01:10 EST) is outside it. Luxon alone would take the
//   second occurrence.
// A window wholly inside skipped time (02:10–02:40 on a spring-forward night) is empty that day.
import { DateTime, IANAZone } from 'luxon';
import type { Channel, MessageCategory } from '../../domain/enums.js';
import { DAY_MS } from '../../domain/limits.js';

const MINUTE_MS = 60_000;

/** A clock time "HH:MM", 24-hour: 00:00 to 23:59. */
export const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export interface QuietWindow {
  /** "HH:MM", where the window opens (included). */
  start: string;
  /** "HH:MM", where it closes (excluded); before `start` when the window crosses midnight. */
  end: string;
}

export interface QuietHoursRule extends QuietWindow {
  channel: Channel;
  categories: readonly MessageCategory[];
}

export interface Send {
  channel: Channel;
  category: MessageCategory;
  /** Urgent messages ignore quiet hours. */
  urgent?: boolean | null;
  /** The recipient's IANA zone (else the tenant's default). */
  timeZone: string;
  /** When the message would go: its sendAt, else the moment it is accepted. */
  at: Date;
}

/** When `send` may leave under the tenant's quiet hours: the end of the window it falls in, or null to go at `send.at`. */
export function heldUntil(rules: readonly QuietHoursRule[], send: Send): Date | null {
  if (send.urgent) return null;
  const rule = rules.find((r) => r.channel === send.channel);
  if (!rule || !rule.categories.includes(send.category)) return null;
  return quietUntil(rule, send.timeZone, send.at);
}

/** The end of the window `at` falls in, read in `timeZone`; null when `at` is outside the window. */
export function quietUntil(window: QuietWindow, timeZone: string, at: Date): Date | null {
  const zone = IANAZone.create(timeZone);
  if (!zone.isValid) throw new Error(`not an IANA time zone: ${timeZone}`);
  const t = at.getTime();
  const local = DateTime.fromMillis(t, { zone });
  // Calendar days counted in UTC, where every day has 24 hours and its midnight.
  const today = DateTime.utc(local.year, local.month, local.day);
  const crossesMidnight = window.end < window.start;
  // The window that opened yesterday may still be open today (one crossing midnight).
  for (const opened of [today.minus({ days: 1 }), today]) {
    const from = instantOf(zone, opened, window.start);
    const until = instantOf(zone, crossesMidnight ? opened.plus({ days: 1 }) : opened, window.end);
    if (from <= t && t < until) return new Date(until);
  }
  return null;
}

/** The instant (ms) of clock time `clock` on calendar day `day` in `zone`, by the rule at the top of this file. */
function instantOf(zone: IANAZone, day: DateTime, clock: string): number {
  const [hours, minutes] = clock.split(':').map(Number);
  // The local time read as if it were UTC: an instant is `wall` minus the offset in force then.
  const wall = Date.UTC(day.year, day.month - 1, day.day, hours, minutes);
  const offsets = [...new Set([wall - DAY_MS, wall, wall + DAY_MS].map((t) => zone.offset(t)))];
  const occurrences = offsets.map((offset) => wall - offset * MINUTE_MS).filter((t) => wall - zone.offset(t) * MINUTE_MS === t);
  if (occurrences.length > 0) return Math.min(...occurrences);
  // Skipped: the first minute whose local time is at or past `wall`. Local time only moves
  // forward across a gap, so halving the span between the two offsets finds it.
  const localOf = (t: number) => t + zone.offset(t) * MINUTE_MS;
  let before = wall - Math.max(...offsets) * MINUTE_MS;
  let after = wall - Math.min(...offsets) * MINUTE_MS;
  while (after - before > MINUTE_MS) {
    const middle = before + Math.floor((after - before) / 2 / MINUTE_MS) * MINUTE_MS;
    if (localOf(middle) >= wall) after = middle;
    else before = middle;
  }
  return after;
}
