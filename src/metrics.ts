import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process (or per app in tests): default process metrics plus Herald's own series. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    graphqlOperations: new Counter({
      name: 'herald_graphql_operations_total',
      help: 'GraphQL operations by type and outcome (ok, user_error, error)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'herald_http_request_duration_seconds',
      help: 'HTTP request duration by route and status code',
      labelNames: ['route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
