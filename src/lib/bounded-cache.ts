// A bounded least-recently-used cache of things costly to make per use: vendor SDK clients
// per credentials and endpoint, opened gateway credentials per sealed text, compiled
// GraphQL operations per document. Bounded so rotated keys, deleted gateways and one-off
// documents do not pile up; Map order makes the least recently used entry the first one.
const MAX_ENTRIES = 500;

/** A Map of at most `max` entries: reading or writing an entry makes it the most recent, the least recent is dropped. */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** `get(keyParts, create)`: the cached value for these parts, made by `create` the first time. */
export function boundedCache<T>(): (keyParts: unknown[], create: () => T) => T {
  const entries = new BoundedMap<string, T>(MAX_ENTRIES);
  return (keyParts, create) => {
    const key = keyParts.map((p) => String(p ?? '')).join('\u0000');
    const cached = entries.get(key);
    if (cached !== undefined) return cached;
    const value = create();
    entries.set(key, value);
    return value;
  };
}
