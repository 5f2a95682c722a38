// The one rule every connection filter follows, checked in one place.
import { badUserInput } from './errors.js';

/**
 * Said in every filter input's description. An empty string or list is refused rather than
 * read as "no filter" or "matches nothing": it is nearly always an unset form field, and
 * either reading would hand back a plausible wrong answer (a whole tenant, or nothing).
 */
export const FILTER_RULE =
  'Fields combine with AND; a field left out or null does not filter. An empty string or empty list is refused with BAD_USER_INPUT naming it.';

/** The filter as given, or BAD_USER_INPUT naming its first empty string or empty list (e.g. filter.recipientId). */
export function nonEmptyFilter<F extends object>(filter: F | null | undefined, arg = 'filter'): F | null | undefined {
  for (const [name, value] of Object.entries(filter ?? {})) {
    if (value === '' || (Array.isArray(value) && value.length === 0)) {
      throw badUserInput(`${arg}.${name} must not be empty`, [arg, name]);
    }
  }
  return filter;
}
