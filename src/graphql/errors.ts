// Top-level errors: authentication, authorization, client mistakes. Business refusals
// are userErrors (user-errors.ts), never these.
import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { databaseErrorOf, isDatabaseUnavailable } from '../db/availability.js';

export const unauthenticated = (message = 'A valid API key is required: send "Authorization: Bearer <key>"') =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

export const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });

export const badUserInput = (message: string, field?: string[]) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(field ? { field } : {}) } });

const KNOWN_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  // limits.ts and http/rate-limit.ts
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COSTLY',
  'TOO_MANY_ALIASES',
  'TOO_MANY_SUBSCRIPTIONS', // http/subscriptions.ts
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
]);

/** 429 with Retry-After: a send budget is spent (modules/budgets), said in `message`. */
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new GraphQLError(message, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
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
      http: { status: 503, headers: new Map([['retry-after', String(UNAVAILABLE_RETRY_AFTER_S)]]) },
    },
  });

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
