// GraphQL over WebSocket (graphql-ws protocol) on the same /graphql path and port, with
// the defences of HTTP: the API key travels in connectionParams.authorization and a
// connection without a valid one is closed before any operation starts (one whose key is
// revoked later is closed then); connection_init must come within a deadline; every
// operation passes the same parse, validation and limits as over HTTP on the operation
// operationName picks (graphql/limits.ts), spends its key's request budget, and counts
// against the subscriptions a connection and a key may hold; errors are formatted as over
// HTTP (graphql/errors.ts: unexpected ones as an opaque id).
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import {
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  createSourceEventStream,
  execute,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import type { Context as ConnectionContext } from 'graphql-ws';
import { type Extra as SocketExtra, useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../config.js';
import type { AuthInfo, Context } from '../graphql/context.js';
import { makeFormatError } from '../graphql/errors.js';
import { checkOperation, documentRules, operationToRun } from '../graphql/limits.js';
import { createLoaders } from '../graphql/loaders.js';
import type { Services } from '../services.js';
import { bearerKey } from '../lib/api-key.js';

/** subscriptionIds: the ids of this connection's accepted subscriptions, some perhaps ended since. */
type Extra = { auth: AuthInfo; subscriptionIds: Set<string> };
type Connection = ConnectionContext<Record<string, unknown>, SocketExtra & Partial<Extra>>;

export type WebSocketConfig = Pick<Config, 'graphqlLimits' | 'websocket' | 'rateLimit'>;

export function registerSubscriptions(
  app: FastifyInstance,
  schema: GraphQLSchema,
  services: Services,
  log: Logger,
  config: WebSocketConfig,
): void {
  const { graphqlLimits: limits, websocket } = config;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  app.server.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/graphql') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  // Open connections by API key id: to close those of a key when it is revoked, and to
  // count the operations a key has in flight across them.
  const byKey = new Map<string, Set<Connection>>();
  const stopFollowing = services.apiKeys.onRevoked((apiKeyId) => {
    for (const connection of byKey.get(apiKeyId) ?? []) connection.extra.socket.close(CloseCode.InvalidKey, CLOSE_REASONS.revokedKey);
  });
  const track = (apiKeyId: string, connection: Connection) => {
    const connections = byKey.get(apiKeyId) ?? new Set();
    connections.add(connection);
    byKey.set(apiKeyId, connections);
    connection.extra.socket.once('close', () => {
      connections.delete(connection);
      if (connections.size === 0 && byKey.get(apiKeyId) === connections) byKey.delete(apiKeyId);
    });
  };
  // graphql-ws holds an entry per operation in flight until it ends: a subscription
  // accepted here and no longer there has ended.
  const subscriptionsOf = (connection: Connection, except?: string) => {
    const ids = connection.extra.subscriptionIds!;
    for (const id of ids) if (!(id in connection.subscriptions)) ids.delete(id);
    return ids.size - (except !== undefined && ids.has(except) ? 1 : 0);
  };
  const subscriptionsOfKey = (apiKeyId: string, except: string, on: Connection) =>
    [...(byKey.get(apiKeyId) ?? [])].reduce((n, connection) => n + subscriptionsOf(connection, connection === on ? except : undefined), 0);

  const budget = requestBudget(config.rateLimit);
  const rules = [...specifiedRules, ...documentRules(limits)];
  const formatError = makeFormatError(log);
  // As Apollo does over HTTP: the status travels in the HTTP head there, and nowhere here.
  const format = (error: GraphQLError): GraphQLFormattedError => {
    const formatted = formatError(error.toJSON(), error);
    if (!formatted.extensions || !('http' in formatted.extensions)) return formatted;
    const { http: _http, ...extensions } = formatted.extensions;
    return { ...formatted, extensions };
  };

  const server = useServer<Record<string, unknown>, Extra>(
    {
      schema,
      connectionInitWaitTimeout: websocket.connectionInitTimeoutMs,
      onConnect: async (ctx) => {
        // Closed here with a code of our own (docs/errors.md); returning false then makes
        // graphql-ws's own 4403 close a no-op on a socket already closing.
        const refuse = (code: number, reason: string) => {
          ctx.extra.socket.close(code, reason);
          return false;
        };
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        if (raw === undefined || raw === null || raw === '') return refuse(CloseCode.MissingKey, CLOSE_REASONS.missingKey);
        const key = bearerKey(raw, true);
        const auth = key ? await services.apiKeys.authenticate(key) : null;
        // A connection is a request, counted as over HTTP: under its key, or without a valid
        // one under its address (so guessing keys over WebSocket is throttled too).
        const spent = budget(auth ? auth.apiKeyId : `ip:${normalizeIP(ctx.extra.request.socket.remoteAddress ?? '')}`);
        if (spent) return refuse(CloseCode.RateLimited, CLOSE_REASONS.rateLimited(spent.extensions.retryAfterSeconds as number));
        if (!auth) return refuse(CloseCode.InvalidKey, key ? CLOSE_REASONS.invalidKey : CLOSE_REASONS.malformedKey);
        ctx.extra.auth = auth;
        ctx.extra.subscriptionIds = new Set();
        track(auth.apiKeyId, ctx);
        return true;
      },
      onSubscribe: (ctx, id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const apiKeyId = ctx.extra.auth!.apiKeyId; // set by onConnect, before any subscribe
        const spent = budget(apiKeyId);
        if (spent) return [spent];
        let document;
        try {
          document = parse(payload.query, { maxTokens: limits.maxTokens });
        } catch (err) {
          return [
            new GraphQLError(err instanceof GraphQLError ? err.message : 'The query cannot be parsed', {
              extensions: { code: 'GRAPHQL_PARSE_FAILED' },
            }),
          ];
        }
        const invalid = validate(schema, document, rules);
        if (invalid.length > 0) {
          return invalid.map(
            (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } }),
          );
        }
        const operation = operationToRun(document, payload.operationName);
        if (!operation) {
          const message = payload.operationName
            ? `The document has no operation named "${payload.operationName}"`
            : 'The document must name the operation to run (operationName)';
          return [new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
        }
        const variables = payload.variables ?? undefined;
        const refused = checkOperation(limits, schema, document, operation, variables);
        if (refused) return [refused];
        if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
          if (subscriptionsOf(ctx, id) >= websocket.maxSubscriptionsPerConnection) {
            return [
              tooManySubscriptions(
                `This connection already holds ${websocket.maxSubscriptionsPerConnection} subscriptions: complete one first`,
              ),
            ];
          }
          if (subscriptionsOfKey(apiKeyId, id, ctx) >= websocket.maxSubscriptionsPerKey) {
            return [
              tooManySubscriptions(
                `This API key already holds ${websocket.maxSubscriptionsPerKey} subscriptions across its connections: complete one first`,
              ),
            ];
          }
          ctx.extra.subscriptionIds!.add(id);
        }
        return { schema, document, operationName: payload.operationName, variableValues: variables };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(format) } : undefined),
      context: (ctx): Context => ({
        auth: ctx.extra.auth ?? null,
        services,
        loaders: createLoaders(services.db, ctx.extra.auth?.tenantId ?? null),
        log,
      }),
      subscribe: (args) => subscribeWithFreshLoaders(args, services),
    },
    wss,
  );

  // Before the HTTP server closes: it waits for every socket, upgraded ones included, so
  // open WebSocket connections closed after it (onClose) would hold the shutdown for ever.
  app.addHook('preClose', async () => {
    stopFollowing();
    await server.dispose();
  });
}

const tooManySubscriptions = (message: string) => new GraphQLError(message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } });

/**
 * Operations per API key over WebSocket, counted as HTTP requests are (HERALD_RATE_LIMIT_*:
 * `burst` per window of burst/perSecond seconds), in this process's memory. Each subscribe
 * message is one request: a socket is no way around the request budget.
 */
function requestBudget(
  { perSecond, burst }: Config['rateLimit'],
  now: () => number = Date.now,
): (apiKeyId: string) => GraphQLError | undefined {
  if (perSecond === 0) return () => undefined;
  const windowMs = (burst / perSecond) * 1000;
  const windows = new Map<string, { startedAt: number; used: number }>();
  return (apiKeyId) => {
    const at = now();
    let window = windows.get(apiKeyId);
    if (!window || at - window.startedAt >= windowMs) {
      if (windows.size >= 10_000) for (const [key, w] of windows) if (at - w.startedAt >= windowMs) windows.delete(key);
      window = { startedAt: at, used: 0 };
      windows.set(apiKeyId, window);
    }
    if (window.used < burst) {
      window.used += 1;
      return undefined;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((window.startedAt + windowMs - at) / 1000));
    return new GraphQLError(`Too many requests for this API key: try again in ${retryAfterSeconds} s`, {
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds },
    });
  };
}

/**
 * WebSocket close codes a client is refused with (docs/errors.md), in graphql-ws's
 * 4xxx-as-HTTP style; graphql-ws's client retries none of them. Reasons stay under the
 * 123 bytes a close frame holds.
 */
export const CloseCode = {
  /** connection_init without connectionParams.authorization. */
  MissingKey: 4401,
  /** A key that is malformed, unknown or revoked, at connection_init or revoked later. */
  InvalidKey: 4403,
  /** Over the request budget (HERALD_RATE_LIMIT_*) of the key, or of the address without a valid key. */
  RateLimited: 4429,
} as const;

export const CLOSE_REASONS = {
  missingKey: 'Unauthorized: send connectionParams.authorization = "Bearer <api key>"',
  malformedKey: 'Forbidden: connectionParams.authorization must be "Bearer <api key>"',
  invalidKey: 'Forbidden: the API key is unknown or revoked',
  revokedKey: 'Forbidden: the API key was revoked',
  rateLimited: (retryAfterSeconds: number) => `Too many requests: try again in ${retryAfterSeconds} s`,
} as const;

// graphql-js runs every event of a subscription with the one context made when it started,
// so its DataLoaders would answer later events from what the first one read (a message's
// `logs` frozen at its first status). Each event runs with loaders of its own instead.
async function subscribeWithFreshLoaders(
  args: ExecutionArgs,
  services: Services,
): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source; // refused before it started: errors only
  const events = source[Symbol.asyncIterator]();
  const base = args.contextValue as Context;
  const run = async (event: unknown): Promise<ExecutionResult> =>
    execute({ ...args, rootValue: event, contextValue: { ...base, loaders: createLoaders(services.db, base.auth?.tenantId ?? null) } });
  // Not an async generator function: its return() would wait for a pending next(), and a
  // quiet subscription's next() waits for ever; this one ends the source at once.
  const results: AsyncGenerator<ExecutionResult> = {
    async next() {
      const item = await events.next();
      return item.done ? { value: undefined, done: true } : { value: await run(item.value), done: false };
    },
    async return() {
      await events.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown) {
      await events.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return results;
    },
  };
  return results;
}
