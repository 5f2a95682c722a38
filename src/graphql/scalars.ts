// Custom scalars of the schema. Each one refuses a value it cannot read by saying what it
// expected: graphql-scalars' own messages say only that the value is invalid (and quote it,
// which errors.ts must then strip from a variable's error, leaving the caller no clue).
import { GraphQLError, GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONObjectResolver } from 'graphql-scalars';

/** What a DateTime input must look like; the message of every DateTime value refused. */
export const DATE_TIME_EXPECTED = 'expected an ISO 8601 date-time with offset, e.g. 2026-12-01T09:00:00Z';

/**
 * `scalar` as it is, but a value it refuses is answered with `expected` (no value in it).
 * A variable's error is a GraphQLError, so graphql-js puts the variable's path before it; a
 * literal's is a plain Error, so graphql-js writes `Expected value of type "X", found …; ` before it.
 */
function saysWhatItExpects<TInternal, TExternal>(
  scalar: GraphQLScalarType<TInternal, TExternal>,
  expected: string,
  description?: string,
): GraphQLScalarType<TInternal, TExternal> {
  const config = scalar.toConfig();
  return new GraphQLScalarType({
    ...config,
    description: description ?? config.description,
    parseValue(value) {
      try {
        return config.parseValue(value);
      } catch {
        throw new GraphQLError(expected);
      }
    },
    parseLiteral(node, variables) {
      try {
        return config.parseLiteral(node, variables);
      } catch {
        throw new Error(expected);
      }
    },
  });
}

export const DateTimeScalar = saysWhatItExpects(
  DateTimeResolver,
  DATE_TIME_EXPECTED,
  'An ISO 8601 date-time with a UTC offset (RFC 3339 section 5.6), e.g. 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00; ' +
    'answered in UTC with milliseconds. A date alone or a time without offset is refused.',
);

export const JSONObjectScalar = saysWhatItExpects(
  JSONObjectResolver,
  'expected a JSON object, e.g. {"name": "Ann"}',
  'A JSON object (graphql-scalars JSONObject): personalisation values by placeholder name.',
);
