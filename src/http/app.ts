// The Fastify app: /graphql (Apollo), /graphiql, health, readiness and metrics.
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { GraphQLError, Kind, type GraphQLSchema, type OperationDefinitionNode, OperationTypeNode } from 'graphql';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { AuthInfo, Context } from '../graphql/context.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import { UNAVAILABLE_RETRY_AFTER_S, makeFormatError, responseStatus, serviceUnavailable, unauthenticated } from '../graphql/errors.js';
import { checkOperation, documentRules } from '../graphql/limits.js';
import { createLoaders } from '../graphql/loaders.js';
import type { Metrics } from '../metrics.js';
import type { Services } from '../services.js';
import { registerGraphiql } from './graphiql.js';
import { RateLimitedError, graphqlMediaType, rateLimitedBody, requestRateLimit } from './rate-limit.js';
import { registerSubscriptions } from './subscriptions.js';
import { registerUnsubscribe } from './unsubscribe.js';
import { registerWebhooks } from './webhooks.js';
import { bearerKey } from '../lib/api-key.js';

export interface HttpDeps {
  config: Pick<
    Config,
    | 'maxBodyBytes'
    | 'publicUrl'
    | 'requestTimeoutMs'
    | 'connectionTimeoutMs'
    | 'graphqlLimits'
    | 'websocket'
    | 'introspection'
    | 'rateLimit'
    | 'trustProxy'
    | 'corsOrigins'
    | 'metricsToken'
  >;
  log: Logger;
  services: Services;
  schema: GraphQLSchema;
  metrics: Metrics;
  /** Serve /graphql and /graphiql (false for a worker-only process). */
  serveApi: boolean;
  /** True once migrations are applied and start-up work is done. */
  isStarted: () => boolean;
  ping: () => Promise<boolean>;
}

export async function createHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const { log, metrics } = deps;
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    bodyLimit: deps.config.maxBodyBytes,
    // Per-request lines would flood the log under load; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    // The whole request must arrive in time (slow-loris); an idle socket is closed.
    requestTimeout: deps.config.requestTimeoutMs,
    connectionTimeout: deps.config.connectionTimeoutMs,
    genReqId: () => randomUUID(),
    // GET /graphql?query=… can carry a long query string.
    routerOptions: { maxParamLength: 500 },
    // request.ip (rate limits, logs) from X-Forwarded-For only through the proxies trusted.
    trustProxy: hopsOrList(deps.config.trustProxy),
  });
  // Routes opt in with config.rateLimit (the plugin must be registered before them).
  await app.register(fastifyRateLimit, { global: false, cache: 100_000 });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  // Client mistakes keep their 4xx and say what was wrong; anything else is logged with
  // an id and answered with that id alone.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (error instanceof RateLimitedError) {
      return reply.code(429).type(graphqlMediaType(request.headers.accept)).send(rateLimitedBody(error.message, error.retryAfterSeconds));
    }
    if (status < 500) return reply.code(status).send({ error: error.message, code: error.code });
    const errorId = randomUUID();
    if (isDatabaseUnavailable(error)) {
      // Webhook senders retry a 503 later; the event is not lost.
      request.log.warn({ errorId, err: { message: error.message, code: error.code } }, 'database unavailable during an HTTP request');
      return reply
        .code(503)
        .header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S))
        .send({ error: 'The database is unavailable; try again in a few seconds', errorId });
    }
    request.log.error({ errorId, err: error }, 'unexpected error in an HTTP request');
    return reply.code(500).send({ error: `Internal error ${errorId}`, errorId });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));

  // A worker process serves health, readiness and metrics only: it takes no requests.
  if (deps.serveApi) {
    await registerGraphql(app, deps);
    registerSubscriptions(app, deps.schema, deps.services, log, deps.config);
    registerWebhooks(app, deps.services.receipts, deps.services.inbound, deps.config.publicUrl);
    registerUnsubscribe(app, deps.services.suppressions);
    registerGraphiql(app);
  }
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = deps.isStarted() && (await deps.ping());
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  const metricsToken = deps.config.metricsToken;
  app.get('/metrics', async (request, reply) => {
    if (metricsToken !== undefined && !sameSecret(request.headers.authorization ?? '', `Bearer ${metricsToken}`)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: '/metrics requires Authorization: Bearer <HERALD_METRICS_TOKEN>' });
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return app;
}

async function registerGraphql(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const { log, services, metrics, config } = deps;
  const apollo = new ApolloServer<Context>({
    schema: deps.schema,
    formatError: makeFormatError(log),
    introspection: config.introspection,
    // Limits before execution (docs/security.md), as over WebSocket: tokens at parse, the
    // document's rules at validation, the operation run in guardPlugin.
    parseOptions: { maxTokens: config.graphqlLimits.maxTokens },
    validationRules: documentRules(config.graphqlLimits),
    allowBatchedHttpRequests: false,
    // Auth is a bearer header, never a cookie, so a cross-site form cannot act as a
    // user: CSRF prevention would only refuse plain GET queries.
    csrfPrevention: false,
    includeStacktraceInErrorResponses: false,
    plugins: [
      fastifyApolloDrainPlugin(app),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints in this schema (mutations and live status): Apollo's default
      // cache-control plugin would only add a hook to every field resolved.
      ApolloServerPluginCacheControlDisabled(),
      guardPlugin(config),
      requireKeyPlugin(),
      statusPlugin(),
      metricsPlugin(metrics),
    ],
  });
  await apollo.start();

  const context = async (request: FastifyRequest): Promise<Context> => {
    const auth = await authenticate(services, request.headers.authorization).catch((err: unknown) => {
      throw isDatabaseUnavailable(err) ? serviceUnavailable() : err;
    });
    return { auth, services, loaders: createLoaders(services.db, auth?.tenantId ?? null), log: request.log as unknown as Logger };
  };

  // Browser frontends: only the origins listed, only /graphql (the delegator turns CORS
  // off for every other route, and for other origins, which then get no CORS headers).
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    await app.register(fastifyCors, {
      delegator: (request, callback) =>
        callback(null, {
          origin: request.routeOptions.url === '/graphql' && allowed.has(request.headers.origin ?? '') ? request.headers.origin : false,
          methods: ['GET', 'POST'],
          allowedHeaders: ['authorization', 'content-type', 'apollo-require-preflight'],
          maxAge: 600,
        }),
    });
  }

  const rateLimit = requestRateLimit(config.rateLimit, (key) => services.apiKeys.authenticate(key));
  app.route<{ Reply: string }>({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    config: { rateLimit: rateLimit ?? false },
    // Answers depend on the key (and their media type on Accept): no shared cache may keep
    // one, nor the client's own (data of a revoked key, GET queries replayed from cache).
    // Ours, whatever the route answers with: Apollo's cache-control plugin is disabled.
    onSend: async (_request, reply, payload) => {
      reply.header('cache-control', 'private, no-store');
      const vary = String(reply.getHeader('vary') ?? '');
      if (!/\bauthorization\b/i.test(vary)) reply.header('vary', vary ? `${vary}, Authorization, Accept` : 'Authorization, Accept');
      return payload;
    },
    preHandler: async (_request, reply) => {
      if (!deps.isStarted())
        return reply
          .code(503)
          .header('retry-after', '2')
          .type('application/json')
          .send(JSON.stringify({ error: 'Herald is starting' }));
    },
    handler: fastifyApolloHandler(apollo, { context }),
  });
}

/** A hop count as Fastify reads a number (the nth hop from this server), in the form its types accept. */
function hopsOrList(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/** Equal strings, compared in constant time (digests first, so lengths leak nothing either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** A present but bad Authorization header is refused outright; an absent one is decided per operation. */
async function authenticate(services: Services, header: string | undefined): Promise<AuthInfo | null> {
  if (header === undefined) return null;
  const key = bearerKey(header);
  if (!key) throw unauthenticated('Authorization must be "Bearer <api key>"');
  const auth = await services.apiKeys.authenticate(key);
  if (!auth) throw unauthenticated('The API key is unknown or revoked');
  return auth;
}

// Before any resolver runs (docs/security.md): no subscriptions over HTTP, query limits,
// and strings the database cannot store. One plugin, so they run in order. Send budgets
// are spent by the sending services (modules/budgets), under every transport.
function guardPlugin(config: HttpDeps['config']): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { schema, document, operation, request } = requestContext;
          if (!operation) return;
          if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
            throw new GraphQLError('Subscriptions are served over WebSocket (graphql-ws) on /graphql, not over HTTP', {
              extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
            });
          }
          const refused = checkOperation(config.graphqlLimits, schema, document, operation, request.variables);
          if (refused) throw refused;
        },
      };
    },
  };
}

const INTROSPECTION_FIELDS = new Set(['__schema', '__type', '__typename']);

// Introspection alone needs no key (GraphiQL loads the schema before one is typed);
// every other operation does, and without one gets no data at all.
function requireKeyPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          if (!contextValue.auth && (!operation || !onlyIntrospection(operation))) throw unauthenticated();
        },
      };
    },
  };
}

function onlyIntrospection(operation: OperationDefinitionNode): boolean {
  return (
    operation.operation === OperationTypeNode.QUERY &&
    operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && INTROSPECTION_FIELDS.has(s.name.value))
  );
}

// The HTTP status of every /graphql response, the same whatever the Accept header
// (docs/errors.md). GraphQL-over-HTTP, application/graphql-response+json: non-null `data`
// MUST be a 2xx (a partial answer, or a payload with userErrors) and is a 200 here; a
// response without `data` MUST be a 4xx or 5xx, and one with `data: null` (its root field
// refused) is given its error's status too: the error factories carry it in
// `extensions.http` (graphql/errors.ts), responseStatus picks one when several disagree.
// A 503 (database unreachable, formatted so in graphql/errors.ts) comes with Retry-After,
// so clients and load balancers treat it as "come back", not as an answer.
function statusPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, errors }) {
          if (response.body.kind !== 'single') return;
          const { data } = response.body.singleResult;
          const status = data !== undefined && data !== null ? 200 : errors?.length ? responseStatus(errors) : undefined;
          if (status === undefined) return;
          response.http.status = status;
          if (status === 503 && !response.http.headers.has('retry-after')) {
            response.http.headers.set('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
          } else if (status !== 429 && status !== 503) response.http.headers.delete('retry-after');
        },
      };
    },
  };
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      let type = 'unknown';
      return {
        async didResolveOperation({ operation }) {
          type = operation?.operation ?? 'unknown';
        },
        async willSendResponse({ response }) {
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const hasUserErrors = body?.data && Object.values(body.data).some((v) => (v as { userErrors?: unknown[] })?.userErrors?.length);
          const outcome = body?.errors?.length ? 'error' : hasUserErrors ? 'user_error' : 'ok';
          metrics.graphqlOperations.inc({ type, outcome });
        },
      };
    },
  };
}
