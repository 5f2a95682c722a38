// Whether an error means "the database cannot answer now" (gone, refusing, restarting,
// too busy) rather than "this statement is wrong". Callers turn the first into a 503 and
// try again later; the second stays an internal error.

// SQLSTATE classes and codes: 08 connection exception, 53300 too many connections,
// 57P01-57P03 shutdown / cannot connect now, 57014 canceled (statement_timeout).
const UNAVAILABLE_CODES = new Set(['53300', '57P01', '57P02', '57P03', '57014']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// node-postgres says these in words only.
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection error and is not queryable/i,
  /is not currently accepting connections/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

export function isDatabaseUnavailable(error: unknown): boolean {
  // drizzle wraps the driver's error in DrizzleQueryError (cause); Apollo in originalError.
  for (
    let e = error as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (code.startsWith('08') || UNAVAILABLE_CODES.has(code) || NETWORK_CODES.has(code)) return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(e!.message as string))) return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}

/** The SQLSTATE of a database error, through drizzle's wrapper (DrizzleQueryError keeps the driver's error as its cause). */
export function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/**
 * What a log line may say of a database error: the driver's message and SQLSTATE. drizzle's
 * wrapper (DrizzleQueryError, with the driver's error as its cause) puts the statement and
 * its values into its own message.
 */
export function databaseErrorOf(error: unknown): { message?: string; code?: string } {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const inner = (cause instanceof Error ? cause : error) as { message?: unknown } | undefined;
  return { message: typeof inner?.message === 'string' ? inner.message : undefined, code: sqlState(error) };
}
