import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

// Secrets and personal data never reach a log line, whatever a caller passes in.
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
    { level, redact: { paths: REDACT, censor: '[redacted]' }, serializers: { err: serializeError }, base: { service: 'herald' } },
    destination,
  );
}
