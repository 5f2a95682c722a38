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
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'herald' } }, destination);
}
