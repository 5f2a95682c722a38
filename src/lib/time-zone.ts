// IANA time zones, as recipients and tenants name them (quiet hours are read in them).
import { IANAZone } from 'luxon';

/** What a time zone must be, as field descriptions and refusals say it. */
export const TIME_ZONE_RULE = 'an IANA time zone such as America/Toronto, Europe/London or UTC';

/** Whether `name` is a zone in this process's time-zone data (an IANA name, in any case). */
export function isTimeZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}
