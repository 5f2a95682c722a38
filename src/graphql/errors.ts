// Top-level errors: authentication, authorization, client mistakes. Business refusals
// are userErrors (user-errors.ts), never these.
import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { databaseErrorOf, isDatabaseUnavailable } from '../db/availability.js';

/**
 * Every top-level error code (`errors[].extensions.code`), with the HTTP status of a
 * response it refuses (docs/errors.md, checked by test/error-contract.test.ts). A response
 * whose `data` is non-null is a 200 whatever its errors (statusPlugin, http/app.ts).
 * null: over WebSocket only. PERSISTED_QUERY_NOT_FOUND keeps Apollo's 200: Apollo Client's
 * persisted-query link turns persisted queries off for the session on a 400. (Persisted
 * queries are on, so Apollo never answers PERSISTED_QUERY_NOT_SUPPORTED.)
 */
export const ERROR_CODES = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  PERSISTED_QUERY_NOT_FOUND: 200,
  // limits.ts and http/rate-limit.ts
  QUERY_TOO_DEEP: 400,
  QUERY_TOO_COSTLY: 400,
  TOO_MANY_ALIASES: 400,
  TOO_MANY_SUBSCRIPTIONS: null, // http/subscriptions.ts
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
} as const satisfies Record<string, number | null>;
export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes raised on purpose, shown as they are; anything else is an internal error. */
const KNOWN_CODES = new Set<string>(Object.keys(ERROR_CODES).filter((code) => code !== 'INTERNAL_SERVER_ERROR'));

/** Apollo's public way to give an error its HTTP status: `extensions.http`. */
const httpOf = (code: ErrorCode, headers?: Map<string, string>) => ({
  status: ERROR_CODES[code] ?? undefined,
  ...(headers ? { headers } : {}),
});

export const unauthenticated = (message = 'A valid API key is required: send "Authorization: Bearer <key>"') =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: httpOf('UNAUTHENTICATED') } });

export const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN', http: httpOf('FORBIDDEN') } });

export const badUserInput = (message: string, field?: string[]) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(field ? { field } : {}), http: httpOf('BAD_USER_INPUT') } });

/** 429 with Retry-After: a send budget is spent (modules/budgets), said in `message`. */
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new GraphQLError(message, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: httpOf('RATE_LIMITED', new Map([['retry-after', String(retryAfterSeconds)]])),
    },
  });

/** Seconds a caller is asked to wait when the database is away. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;
const UNAVAILABLE_MESSAGE = 'The database is unavailable; try again in a few seconds';

/** A 503 for a request that could not reach the database (the HTTP status comes with it). */
export const serviceUnavailable = () =>
  new GraphQLError(UNAVAILABLE_MESSAGE, {
    extensions: {
      code: 'SERVICE_UNAVAILABLE',
      http: httpOf('SERVICE_UNAVAILABLE', new Map([['retry-after', String(UNAVAILABLE_RETRY_AFTER_S)]])),
    },
  });

/**
 * The HTTP status an error asks for: the one it carries (Apollo's own errors, the factories
 * above), else its code's, else 503 for an unreachable database and 500 for anything
 * unexpected, as makeFormatError will show it.
 */
export function statusOf(error: GraphQLError): number {
  const carried = (error.extensions?.http as { status?: unknown } | undefined)?.status;
  if (typeof carried === 'number') return carried;
  const code = error.extensions?.code;
  const known = typeof code === 'string' && code in ERROR_CODES ? ERROR_CODES[code as ErrorCode] : null;
  if (known !== null) return known;
  return isDatabaseUnavailable(error.originalError ?? error) ? 503 : 500;
}

/**
 * The status of a response refused with several errors: the first client error (4xx), since
 * the same request would be refused again however long the client waits; else the first
 * error's. One error decides, so its Retry-After (429, 503) is the one that applies.
 */
export function responseStatus(errors: readonly GraphQLError[]): number | undefined {
  const statuses = errors.map(statusOf);
  return statuses.find((status) => status >= 400 && status < 500) ?? statuses[0];
}

/**
 * Anything not deliberately raised is an unexpected error: logged in full with an id,
 * and shown to the caller as that id alone (no stack, SQL or library names).
 */
export function makeFormatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    // Apollo answers some client mistakes (a persisted query whose hash does not match)
    // with a 4xx and no code: those are BAD_REQUEST, not internal errors.
    const status = (error as { extensions?: { http?: { status?: unknown } } } | undefined)?.extensions?.http?.status;
    const clientMistake = typeof status === 'number' && status >= 400 && status < 500;
    if ((typeof code === 'string' && KNOWN_CODES.has(code)) || clientMistake) {
      const { stacktrace: _stack, validationErrors: _v, ...rest } = formatted.extensions ?? {};
      const extensions = typeof code === 'string' && KNOWN_CODES.has(code) ? rest : { ...rest, code: 'BAD_REQUEST' };
      const inner = (error as { originalError?: { message?: unknown } })?.originalError?.message;
      return { ...formatted, message: withoutEchoedValue(formatted.message, typeof inner === 'string' ? inner : undefined), extensions };
    }
    const errorId = randomUUID();
    const original = (error as { originalError?: unknown })?.originalError ?? error;
    if (isDatabaseUnavailable(original)) {
      // An outage, not a bug: the caller is told to come back (the response is a 503, see
      // http/app.ts), and the log says why without the statement or its parameters.
      log.warn({ errorId, err: databaseErrorOf(original), path: formatted.path }, 'database unavailable during a GraphQL request');
      return {
        message: UNAVAILABLE_MESSAGE,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: 'SERVICE_UNAVAILABLE', errorId },
      };
    }
    log.error({ errorId, err: original, path: formatted.path }, 'unexpected error in a GraphQL request');
    return {
      message: `Internal error ${errorId}`,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
    };
  };
}

// graphql-js puts a bad variable's value into its message ("Variable "$input" got invalid
// value {…} at "input.credentials"; String cannot represent a non string value: {…}").
// That value can be a secret (gateway credentials sent as an object), so the message
// keeps the variable, the path and the kind of problem, never the value.
export function withoutEchoedValue(message: string, inner: string | undefined): string {
  const head = /^Variable "\$(\w+)" got invalid value /.exec(message);
  if (!head) return message;
  const prefix = inner !== undefined && message.endsWith(`; ${inner}`) ? message.slice(0, -inner.length - 2) : message;
  const at = new RegExp(` at "${head[1]}(?:\\.\\w+|\\[\\d+\\])*"$`).exec(prefix);
  return `Variable "$${head[1]}" got an invalid value${at ? at[0] : ''}; ${inner === undefined ? 'the value does not fit its type' : safeReason(inner)}`;
}

const VALUE_FREE_REASONS = [
  /^Field "\w+" of required type "[\w[\]!]+" was not provided\.$/,
  /^Field "\w+" is not defined by type "\w+"\.(?: Did you mean [\w", ]+\?)?$/,
  /^Expected type "\w+" to be an object\.$/,
  /^Expected non-nullable type "[\w[\]!]+" not to be null\.$/,
  /^Field "\w+" must be non-null\.$/,
  /^Exactly one key must be specified for OneOf type "\w+"\.$/,
  /^expected an? [\w\s,.:+-]+$/, // graphql/scalars.ts: what a custom scalar expected, never the value
];

function safeReason(inner: string): string {
  if (VALUE_FREE_REASONS.some((pattern) => pattern.test(inner))) return inner;
  const represent = /^(?:Expected type "\w+"\. )?((?:Enum "\w+"|\w+) cannot represent [\w\s-]*?value)\b/.exec(inner);
  if (represent) return represent[1];
  const enumValue = /^Value "[\s\S]*" does not exist in "(\w+)" enum\./.exec(inner);
  if (enumValue) return `the value is not one of the ${enumValue[1]} enum values`;
  const expected = /^Expected type "\w+"/.exec(inner);
  return expected ? expected[0] : 'the value does not fit its type';
}
