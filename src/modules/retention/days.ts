// The days a `stats` query asks about: UTC calendar days written YYYY-MM-DD, both included.
import { DAY_MS, MAX_STATS_DAYS } from '../../domain/limits.js';
import { invalid } from '../../domain/refusal.js';
import { uuidv7Floor } from '../../lib/ids.js';

export interface DayRange {
  firstDay: string;
  lastDay: string;
  /** The smallest UUIDv7 of the first day's midnight (UTC). */
  fromId: string;
  /** The smallest UUIDv7 of the midnight after the last day. */
  toId: string;
}

/** Midnight (UTC) of a YYYY-MM-DD day, or undefined when the text is not one (2026-02-30 included). */
function midnightOf(day: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const at = new Date(`${day}T00:00:00Z`);
  // Date accepts 2026-02-30 as 2026-03-02: only a day that reads back the same is one.
  return !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) === day ? at.getTime() : undefined;
}

/** The range from `from` to `to`, or a Refusal naming the field at fault. */
export function dayRange(from: string, to: string): DayRange {
  const first = midnightOf(from);
  if (first === undefined) throw invalid(['input', 'from'], 'from must be a day written YYYY-MM-DD, such as 2026-03-01');
  const last = midnightOf(to);
  if (last === undefined) throw invalid(['input', 'to'], 'to must be a day written YYYY-MM-DD, such as 2026-03-31');
  if (last < first) throw invalid(['input', 'to'], 'to must not be before from');
  if ((last - first) / DAY_MS + 1 > MAX_STATS_DAYS) {
    throw invalid(['input', 'to'], `from and to may span at most ${MAX_STATS_DAYS} days; ask for a longer period in parts`);
  }
  return { firstDay: from, lastDay: to, fromId: uuidv7Floor(first), toId: uuidv7Floor(last + DAY_MS) };
}
