// The one place that reads the environment. Every variable of RUNNING.md is parsed
// and checked here, so a bad value stops the start with a line naming it instead of
// failing later, deep inside a send.
import { isIP } from 'node:net';
import path from 'node:path';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface TwilioEnv {
  accountSid: string;
  authToken: string;
  smsFrom?: string;
  whatsappFrom?: string;
}
export interface SendgridEnv {
  apiKey: string;
  fromEmail: string;
}
export interface TwitterEnv {
  appKey: string;
  appSecret: string;
  accessToken: string;
  accessSecret: string;
}

/** The largest HERALD_SEND_TIMEOUT_MS: the queue's job expiry is sized from it (dispatch/queue.ts). */
export const MAX_SEND_TIMEOUT_MS = 120_000;

export interface Config {
  databaseUrl?: string;
  dataDir: string;
  /** On PGlite (no autovacuum there): VACUUM (ANALYZE) of the tables messages rewrite every this many ms (0 = never). */
  pgliteVacuumMs: number;
  host: string;
  port: number;
  publicUrl: string;
  bootstrapAdminKey?: string;
  secretKey?: Buffer;
  /** Keys that only open credentials sealed before a rotation (HERALD_SECRET_KEY_PREVIOUS). */
  previousSecretKeys: Buffer[];
  maxBodyBytes: number;
  /** Fastify requestTimeout: the whole request must arrive within this (0 = none). */
  requestTimeoutMs: number;
  /** Fastify connectionTimeout: a socket idle this long is closed (0 = none). */
  connectionTimeoutMs: number;
  /** Checked on every GraphQL operation before a resolver runs (src/graphql/limits.ts). */
  graphqlLimits: { maxDepth: number; maxCost: number; maxAliases: number; maxDirectives: number; maxTokens: number };
  /** GraphQL over WebSocket (src/http/subscriptions.ts): connection_init deadline and subscription caps. */
  websocket: { connectionInitTimeoutMs: number; maxSubscriptionsPerConnection: number; maxSubscriptionsPerKey: number };
  /** Schema introspection (__schema, __type); GraphiQL needs it to load the schema. */
  introspection: boolean;
  /** Operations executed again are compiled by graphql-jit (src/graphql/executor.ts); false: graphql-js only. */
  graphqlJit: boolean;
  /**
   * Requests on /graphql per valid API key, or per client address for requests without a
   * valid key: `burst` per window of burst/perSecond seconds (src/http/rate-limit.ts); perSecond 0 turns it off.
   */
  rateLimit: { perSecond: number; burst: number };
  /** Fastify's trustProxy: false, a hop count, or the trusted proxies' addresses and CIDRs (HERALD_TRUST_PROXY). */
  trustProxy: false | number | string[];
  /** Origins allowed to call /graphql from a browser (HERALD_CORS_ORIGINS); empty: no CORS. */
  corsOrigins: string[];
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** A database-read gauge on /metrics is read at most once per this many ms (0: at every scrape). */
  metricsGaugeMaxAgeMs: number;
  /** Send budgets every tenant has unless the operator set its own (modules/budgets); 0 turns one off. */
  sendBudget: SendBudgetDefaults;
  logLevel: LogLevel;
  twilio?: TwilioEnv;
  sendgrid?: SendgridEnv;
  twitter?: TwitterEnv;
  sendgridWebhookPublicKey?: string;
  providerBaseUrls: { twilio?: string; sendgrid?: string; twitter?: string };
  /** Sends one worker process runs at once. */
  workerConcurrency: number;
  /** A provider call slower than this is a transient failure. */
  sendTimeoutMs: number;
  /** PostgreSQL cancels a statement of Herald's pool running longer than this (0 = none). */
  statementTimeoutMs: number;
  /** The same for a bulk write's statements (notifyBillingCycle), which write thousands of rows at once. */
  bulkStatementTimeoutMs: number;
  retry: { baseDelayMs: number; maxDelayMs: number; maxAttempts: number };
}

export interface SendBudgetDefaults {
  perMinute: number;
  perDay: number;
  /** SMS and WhatsApp messages per day to numbers outside `homeCountries`. */
  internationalPerDay: number;
  /** ISO 3166 alpha-2 codes, upper case. */
  homeCountries: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and checks the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const url = (name: string, protocols: string[]): string | undefined => {
    const value = get(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return value.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL, got "${value}"`);
      return undefined;
    }
  };

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const value = get(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
      return fallback;
    }
    return Number(value);
  };

  // A credential set is all or nothing: half of one is a typo, not a choice.
  const allOrNothing = (names: string[]): string[] | undefined => {
    const values = names.map(get);
    const present = names.filter((_, i) => values[i] !== undefined);
    if (present.length === 0) return undefined;
    if (present.length < names.length) {
      const missing = names.filter((_, i) => values[i] === undefined);
      problems.push(`${missing.join(', ')} must be set together with ${present.join(', ')}`);
      return undefined;
    }
    return values as string[];
  };

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const host = get('HOST') ?? '127.0.0.1';
  const port = int('PORT', 4000, 0, 65535);
  const publicUrl = url('PUBLIC_URL', ['http:', 'https:']) ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const bootstrapAdminKey = get('HERALD_BOOTSTRAP_ADMIN_KEY');
  if (bootstrapAdminKey !== undefined && (bootstrapAdminKey.length < 16 || bootstrapAdminKey.length > 256 || /\s/.test(bootstrapAdminKey))) {
    problems.push('HERALD_BOOTSTRAP_ADMIN_KEY must be 16 to 256 characters without spaces');
  }

  let secretKey: Buffer | undefined;
  const rawSecret = get('HERALD_SECRET_KEY');
  if (rawSecret !== undefined) {
    secretKey = parseSecretKey(rawSecret);
    if (!secretKey) problems.push('HERALD_SECRET_KEY must be 32 bytes as 64 hex characters or base64');
  }
  // Rotation: the old key(s), comma-separated, still open what they sealed; only the new one seals.
  const previousSecretKeys: Buffer[] = [];
  const rawPrevious = get('HERALD_SECRET_KEY_PREVIOUS');
  if (rawPrevious !== undefined) {
    if (rawSecret === undefined) problems.push('HERALD_SECRET_KEY_PREVIOUS needs HERALD_SECRET_KEY (the new key) set too');
    for (const [i, raw] of rawPrevious.split(',').map((k) => k.trim()).filter(Boolean).entries()) {
      const key = parseSecretKey(raw);
      if (key) previousSecretKeys.push(key);
      else problems.push(`HERALD_SECRET_KEY_PREVIOUS entry ${i + 1} must be 32 bytes as 64 hex characters or base64`);
    }
  }

  const bool = (name: string, fallback: boolean): boolean => {
    const value = get(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    problems.push(`${name} must be true or false, got "${value}"`);
    return fallback;
  };

  const logLevel = (get('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  const twilioCore = allOrNothing(['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']);
  const smsFrom = get('TWILIO_SMS_FROM');
  const whatsappFrom = get('TWILIO_WHATSAPP_FROM');
  let twilio: TwilioEnv | undefined;
  if (twilioCore) {
    const [accountSid, authToken] = twilioCore;
    if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) problems.push('TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex characters');
    if (!smsFrom && !whatsappFrom) problems.push('TWILIO_SMS_FROM or TWILIO_WHATSAPP_FROM must be set with TWILIO_ACCOUNT_SID');
    twilio = { accountSid, authToken, smsFrom, whatsappFrom };
  } else if ((smsFrom || whatsappFrom) && !get('TWILIO_ACCOUNT_SID') && !get('TWILIO_AUTH_TOKEN')) {
    problems.push(`TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN must be set together with ${smsFrom ? 'TWILIO_SMS_FROM' : 'TWILIO_WHATSAPP_FROM'}`);
  }
  for (const name of ['TWILIO_SMS_FROM', 'TWILIO_WHATSAPP_FROM']) {
    const value = get(name);
    if (value !== undefined && !/^\+[1-9]\d{6,14}$/.test(value)) problems.push(`${name} must be an E.164 number such as +14155550123, got "${value}"`);
  }

  const sendgridSet = allOrNothing(['SENDGRID_API_KEY', 'SENDGRID_FROM_EMAIL']);
  let sendgrid: SendgridEnv | undefined;
  if (sendgridSet) {
    const [apiKey, fromEmail] = sendgridSet;
    if (!EMAIL_PATTERN.test(fromEmail)) problems.push(`SENDGRID_FROM_EMAIL must be an e-mail address, got "${fromEmail}"`);
    sendgrid = { apiKey, fromEmail };
  }

  const twitterSet = allOrNothing(['TWITTER_APP_KEY', 'TWITTER_APP_SECRET', 'TWITTER_ACCESS_TOKEN', 'TWITTER_ACCESS_SECRET']);
  const twitter = twitterSet
    ? { appKey: twitterSet[0], appSecret: twitterSet[1], accessToken: twitterSet[2], accessSecret: twitterSet[3] }
    : undefined;

  const providerBaseUrls = {
    twilio: url('TWILIO_API_BASE_URL', ['http:', 'https:']),
    sendgrid: url('SENDGRID_API_BASE_URL', ['http:', 'https:']),
    twitter: url('TWITTER_API_BASE_URL', ['http:', 'https:']),
  };

  const config: Config = {
    databaseUrl,
    dataDir: path.resolve(get('HERALD_DATA_DIR') ?? './.herald-data'),
    pgliteVacuumMs: int('HERALD_PGLITE_VACUUM_SECONDS', 300, 0, 86_400) * 1_000,
    host,
    port,
    publicUrl,
    bootstrapAdminKey,
    secretKey,
    previousSecretKeys,
    maxBodyBytes: int('HERALD_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    requestTimeoutMs: int('HERALD_REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000),
    connectionTimeoutMs: int('HERALD_CONNECTION_TIMEOUT_MS', 120_000, 0, 3_600_000),
    graphqlLimits: {
      maxDepth: int('HERALD_MAX_QUERY_DEPTH', 12, 2, 1_000),
      maxCost: int('HERALD_MAX_QUERY_COST', 5_000, 1, 100_000_000),
      maxAliases: int('HERALD_MAX_ALIASES', 30, 0, 100_000),
      maxDirectives: int('HERALD_MAX_DIRECTIVES', 50, 0, 100_000),
      maxTokens: int('HERALD_MAX_QUERY_TOKENS', 2_000, 100, 1_000_000),
    },
    websocket: {
      connectionInitTimeoutMs: int('HERALD_WS_CONNECTION_INIT_TIMEOUT_MS', 5_000, 100, 600_000),
      maxSubscriptionsPerConnection: int('HERALD_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 10, 1, 10_000),
      maxSubscriptionsPerKey: int('HERALD_WS_MAX_SUBSCRIPTIONS_PER_KEY', 50, 1, 1_000_000),
    },
    introspection: bool('HERALD_INTROSPECTION', true),
    graphqlJit: bool('HERALD_GRAPHQL_JIT', true),
    rateLimit: {
      perSecond: int('HERALD_RATE_LIMIT_PER_SECOND', 500, 0, 1_000_000),
      burst: int('HERALD_RATE_LIMIT_BURST', 1_000, 1, 10_000_000),
    },
    trustProxy: trustProxy(get('HERALD_TRUST_PROXY'), problems),
    corsOrigins: corsOrigins(get('HERALD_CORS_ORIGINS'), problems),
    metricsToken: metricsToken(get('HERALD_METRICS_TOKEN'), problems),
    metricsGaugeMaxAgeMs: int('HERALD_METRICS_GAUGE_SECONDS', 10, 0, 3_600) * 1_000,
    sendBudget: sendBudget(get, int, problems, [twilio?.smsFrom, twilio?.whatsappFrom]),
    logLevel,
    twilio,
    sendgrid,
    twitter,
    sendgridWebhookPublicKey: sendgridPublicKey(get('SENDGRID_WEBHOOK_PUBLIC_KEY'), problems),
    providerBaseUrls,
    workerConcurrency: int('HERALD_WORKER_CONCURRENCY', 8, 1, 256),
    sendTimeoutMs: int('HERALD_SEND_TIMEOUT_MS', 10_000, 100, MAX_SEND_TIMEOUT_MS),
    statementTimeoutMs: int('HERALD_STATEMENT_TIMEOUT_MS', 5_000, 0, 3_600_000),
    bulkStatementTimeoutMs: int('HERALD_BULK_STATEMENT_TIMEOUT_MS', 60_000, 0, 3_600_000),
    // Defaults outlast a 10-minute provider outage: 25 attempts, 1 s doubling to 60 s.
    retry: {
      baseDelayMs: int('HERALD_RETRY_BASE_MS', 1_000, 10, 600_000),
      maxDelayMs: int('HERALD_RETRY_MAX_DELAY_MS', 60_000, 10, 3_600_000),
      maxAttempts: int('HERALD_RETRY_MAX_ATTEMPTS', 25, 1, 1_000),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function sendgridPublicKey(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  try {
    new EventWebhook().convertPublicKeyToECDSA(value);
    return value;
  } catch {
    problems.push('SENDGRID_WEBHOOK_PUBLIC_KEY must be the verification key SendGrid shows for the signed event webhook (base64)');
    return undefined;
  }
}

// Off unless set: trusting X-Forwarded-For from anyone would let every client pick its own address.
function trustProxy(value: string | undefined, problems: string[]): false | number | string[] {
  if (value === undefined) return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops >= 1 && hops <= 100) return hops;
  } else {
    const entries = value.split(',').map((e) => e.trim()).filter(Boolean);
    // The names proxy-addr knows, addresses, and CIDRs with a prefix that fits the address.
    const valid = (entry: string): boolean => {
      if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
      const [address, prefix, ...rest] = entry.split('/');
      const version = isIP(address);
      if (version === 0 || rest.length > 0) return false;
      return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
    };
    if (entries.length > 0 && entries.every(valid)) return entries;
  }
  problems.push(`HERALD_TRUST_PROXY must be a hop count from 1 to 100 or a comma-separated list of proxy addresses or CIDRs (such as 10.0.0.0/8), got "${value}"`);
  return false;
}

function corsOrigins(value: string | undefined, problems: string[]): string[] {
  if (value === undefined) return [];
  const origins = value.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      // reported below
    }
    // Browsers send the origin alone (scheme, host, port): anything else would never match.
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      problems.push(`HERALD_CORS_ORIGINS entries must be origins such as https://app.example.com (no path, no trailing slash, no *), got "${origin}"`);
    }
  }
  return origins;
}

function metricsToken(value: string | undefined, problems: string[]): string | undefined {
  if (value !== undefined && (value.length < 16 || /\s/.test(value))) {
    problems.push('HERALD_METRICS_TOKEN must be at least 16 characters without spaces');
    return undefined;
  }
  return value;
}

// On by default, against a leaked key pumping SMS on the tenant's bill: figures a small
// business does not reach by accident. Home countries default to those of the environment's
// Twilio numbers, else the US.
function sendBudget(
  get: (name: string) => string | undefined,
  int: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
  senderNumbers: (string | undefined)[],
): SendBudgetDefaults {
  const legacy = get('HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE');
  if (legacy !== undefined && get('HERALD_SEND_BUDGET_PER_MINUTE') !== undefined) {
    problems.push('HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE is the old name of HERALD_SEND_BUDGET_PER_MINUTE: set only HERALD_SEND_BUDGET_PER_MINUTE');
  }
  const perMinute =
    legacy !== undefined && get('HERALD_SEND_BUDGET_PER_MINUTE') === undefined
      ? int('HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE', 1_000, 0, 100_000_000)
      : int('HERALD_SEND_BUDGET_PER_MINUTE', 1_000, 0, 100_000_000);
  const raw = get('HERALD_HOME_COUNTRIES');
  let homeCountries: string[];
  if (raw === undefined) {
    const fromNumbers = senderNumbers.flatMap((n) => (n ? (parsePhoneNumberFromString(n)?.country ?? []) : []));
    homeCountries = fromNumbers.length > 0 ? [...new Set(fromNumbers)] : ['US'];
  } else {
    homeCountries = [...new Set(raw.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean))];
    const unknown = homeCountries.filter((c) => !isSupportedCountry(c as CountryCode));
    if (homeCountries.length === 0 || unknown.length > 0) {
      problems.push(`HERALD_HOME_COUNTRIES must be comma-separated ISO 3166 country codes such as US,CA, got "${raw}"`);
      homeCountries = ['US'];
    }
  }
  return {
    perMinute,
    perDay: int('HERALD_SEND_BUDGET_PER_DAY', 50_000, 0, 1_000_000_000),
    internationalPerDay: int('HERALD_INTERNATIONAL_SENDS_PER_DAY', 100, 0, 1_000_000_000),
    homeCountries,
  };
}

export const EMAIL_PATTERN = /^[^\s@"<>()[\],;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function parseSecretKey(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const key = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return key.length === 32 ? key : undefined;
  }
  return undefined;
}
