// GraphQL subscriptions over WebSocket (graphql-ws protocol) on the same /graphql path
// and port. The API key travels in connectionParams.authorization; a connection without
// a valid one is closed before any subscription starts, and a connection whose key is
// revoked later is closed then.
import type { FastifyInstance } from 'fastify';
import {
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  createSourceEventStream,
  execute,
  parse,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AuthInfo, Context } from '../graphql/context.js';
import { type QueryLimits, checkQueryLimits, checkStringValues } from '../graphql/limits.js';
import { createLoaders } from '../graphql/loaders.js';
import type { Services } from '../services.js';
import { bearerKey } from '../lib/api-key.js';

export function registerSubscriptions(
  app: FastifyInstance,
  schema: GraphQLSchema,
  services: Services,
  log: Logger,
  limits: QueryLimits & { maxTokens: number },
): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  app.server.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/graphql') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  // Open connections by API key id, to close those of a key when it is revoked.
  const byKey = new Map<string, Set<WebSocket>>();
  const stopFollowing = services.apiKeys.onRevoked((apiKeyId) => {
    for (const socket of byKey.get(apiKeyId) ?? []) socket.close(REVOKED_CLOSE_CODE, 'Forbidden: the API key was revoked');
  });
  const track = (apiKeyId: string, socket: WebSocket) => {
    const sockets = byKey.get(apiKeyId) ?? new Set();
    sockets.add(socket);
    byKey.set(apiKeyId, sockets);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && byKey.get(apiKeyId) === sockets) byKey.delete(apiKeyId);
    });
  };

  const server = useServer<Record<string, unknown>, { auth: AuthInfo }>(
    {
      schema,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const key = bearerKey(raw, true);
        const auth = key ? await services.apiKeys.authenticate(key) : null;
        if (!auth) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.auth = auth;
        track(auth.apiKeyId, ctx.extra.socket);
        return true;
      },
      // The same limits as over HTTP, before the subscription starts.
      onSubscribe: (_ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query, { maxTokens: limits.maxTokens });
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('the query cannot be parsed')];
        }
        const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
        if (!operation) return [new GraphQLError('the document has no operation')];
        const refused = checkQueryLimits(limits, schema, document, operation, payload.variables ?? undefined) ?? checkStringValues(document, payload.variables ?? undefined);
        return refused ? [refused] : undefined;
      },
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

/** Closes a connection whose API key was revoked: graphql-ws's own code for Forbidden. */
export const REVOKED_CLOSE_CODE = 4403;

// graphql-js runs every event of a subscription with the one context made when it started,
// so its DataLoaders would answer later events from what the first one read (a message's
// `logs` frozen at its first status). Each event runs with loaders of its own instead.
async function subscribeWithFreshLoaders(args: ExecutionArgs, services: Services): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
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
