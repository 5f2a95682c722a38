// One SDK client per set of credentials and endpoint, shared by every send through them.
// Bounded so rotated keys and deleted gateways do not pile up; Map order makes the least
// recently used entry the first one.
const MAX_CLIENTS = 500;

/** `get(keyParts, create)`: the cached client for these parts, made by `create` the first time. */
export function clientCache<T>(): (keyParts: unknown[], create: () => T) => T {
  const clients = new Map<string, T>();
  return (keyParts, create) => {
    const key = keyParts.map((p) => String(p ?? '')).join('\u0000');
    const cached = clients.get(key);
    if (cached !== undefined) {
      clients.delete(key);
      clients.set(key, cached);
      return cached;
    }
    const client = create();
    clients.set(key, client);
    if (clients.size > MAX_CLIENTS) clients.delete(clients.keys().next().value!);
    return client;
  };
}
