/**
 * A closed set of strings as one value and one type: `Channel.SMS` reads like an enum
 * member, while plain `'SMS'` (as drizzle types a column) is a Channel too.
 */
export function enumOf<const T extends readonly [string, ...string[]]>(values: T): { readonly [K in T[number]]: K } {
  return Object.freeze(Object.fromEntries(values.map((value) => [value, value]))) as { readonly [K in T[number]]: K };
}
