import { MESSAGE_CATEGORIES, type MessageCategory } from './enums.js';
import type { Problems } from './refusal.js';

/**
 * A list of categories, each once and at least one, in their canonical order; undefined
 * (and a problem on `field`) otherwise. `whenEmpty` says what to give instead of nothing.
 */
export function checkCategories(
  list: readonly MessageCategory[],
  field: string[],
  problems: Problems,
  whenEmpty = 'give at least one category',
): MessageCategory[] | undefined {
  const twice = MESSAGE_CATEGORIES.filter((c) => list.filter((x) => x === c).length > 1);
  if (twice.length) problems.add(field, `${twice.join(' and ')} ${twice.length > 1 ? 'are' : 'is'} listed more than once`);
  else if (list.length === 0) problems.add(field, whenEmpty);
  else return MESSAGE_CATEGORIES.filter((c) => list.includes(c));
  return undefined;
}
