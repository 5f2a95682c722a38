import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

// Secrets and personal data never reach a log line, whatever a caller passes in. pino's
// redact paths name fixed depths; the fields below are also redacted at any depth by
// `redactDeep`, which walks the object before it is written.
const REDACT = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'credentials',
  '*.credentials',
  '*.authToken',
  '*.apiKey',
  '*.appSecret',
  '*.accessSecret',
  'key',
  '*.key',
  'adminKey',
  '*.adminKey',
  // Provider credentials by their field names, wherever they end up.
  '*.accessToken',
  '*.appKey',
  '*.accountSid',
  '*.password',
  '*.secret',
  '*.secretKey',
  '*.token',
  // Personal data and message content: masked helpers (lib/mask.ts) are for when a log
  // needs to say who; these fields are never logged as they are.
  'phone',
  '*.phone',
  'email',
  '*.email',
  'whatsapp',
  '*.whatsapp',
  'twitterHandle',
  '*.twitterHandle',
  'destination',
  '*.destination',
  'to',
  '*.to',
  'body',
  '*.body',
  'htmlBody',
  '*.htmlBody',
  'variables',
  '*.variables',
  'req.headers["x-twilio-signature"]',
];

/** The last segment of each path: the field names redacted wherever they appear. */
const REDACTED_NAMES = new Set(
  REDACT.map((p) =>
    p
      .replace(/^.*\["([^"]+)"\]$/, '$1')
      .split('.')
      .pop()!
      .toLowerCase(),
  ).concat(['cookie', 'webhookpublickey']),
);
const MAX_DEPTH = 12;

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/**
 * A copy of `value` with the redacted fields censored at every depth; untouched parts are
 * shared, and a value with nothing to redact comes back as it is. Only plain objects and
 * arrays are walked: errors go through `serializeError`, requests through pino's serializers.
 * Deeper than MAX_DEPTH, or a cycle, is written as a marker rather than walked.
 */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value !== 'object' || value === null || !isPlain(value)) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        const next = redactDeep(item, depth + 1, seen);
        if (next !== item) (copy ??= value.slice())[i] = next;
      });
      return copy ?? value;
    }
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const next = REDACTED_NAMES.has(key.toLowerCase()) ? CENSOR : redactDeep(item, depth + 1, seen);
      if (next !== item) (copy ??= { ...value })[key] = next;
    }
    return copy ?? value;
  } finally {
    seen.delete(value);
  }
}
const CENSOR = '[redacted]';

/**
 * pino's error serializer, minus the values a failed query carries: drizzle puts the
 * parameters (phone numbers, message bodies, credentials) into the message and stack of
 * its DrizzleQueryError, PostgreSQL the offending row into `detail`.
 */
function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as Record<string, unknown> & { message: string; stack: string };
  for (const key of ['params', 'parameters', 'detail', 'values']) delete out[key];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const params = (e as { params?: unknown }).params;
    if (!Array.isArray(params) || params.length === 0) continue;
    const shown = `\nparams: ${String(params)}`;
    const redacted = `\nparams: [${params.length} redacted]`;
    out.message = out.message?.split(shown).join(redacted);
    out.stack = out.stack?.split(shown).join(redacted);
  }
  return out;
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT, censor: CENSOR },
      serializers: { err: serializeError },
      formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
      base: { service: 'herald' },
    },
    destination,
  );
}
