// A bounded least-recently-used cache of things costly to make per use: vendor SDK clients
// per credentials and endpoint, opened gateway credentials per sealed text. Bounded so
// rotated keys and deleted gateways do not pile up; Map order makes the least recently
// used entry the first one.
const MAX_ENTRIES = 500;

/** `get(keyParts, create)`: the cached value for these parts, made by `create` the first time. */
export function boundedCache<T>(): (keyParts: unknown[], create: () => T) => T {
  const entries = new Map<string, T>();
  return (keyParts, create) => {
    const key = keyParts.map((p) => String(p ?? '')).join('\u0000');
    const cached = entries.get(key);
    if (cached !== undefined) {
      entries.delete(key);
      entries.set(key, cached);
      return cached;
    }
    const value = create();
    entries.set(key, value);
    if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    return value;
  };
}
