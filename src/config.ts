// The one place that reads the environment. Each variable has one declaration below: its
// parser, its default and its description, which is the README's configuration table
// (src/config-docs.test.ts keeps the two equal). A bad value stops the start with a line
// naming the variable instead of failing later, deep inside a send.
import { isIP } from 'node:net';
import path from 'node:path';
import { cleanEnv, EnvError, makeValidator, str } from 'envalid';
import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js';
import { isSendgridVerificationKey } from './providers/sendgrid/signature.js';

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
/** The largest HERALD_WEBHOOK_TIMEOUT_MS: the webhook queue's job expiry is sized from it. */
export const MAX_WEBHOOK_TIMEOUT_MS = 60_000;

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
  /**
   * Requests on /graphql per valid API key, or per client address for requests without a
   * valid key: `burst` per window of burst/perSecond seconds (src/http/rate-limit.ts); perSecond 0 turns it off.
   */
  rateLimit: { perSecond: number; burst: number };
  /** Fastify's trustProxy: false, a hop count, or the trusted proxies' addresses and CIDRs (HERALD_TRUST_PROXY). */
  trustProxy: false | number | string[];
  /** Origins allowed to call /graphql from a browser (HERALD_CORS_ORIGINS); empty: no CORS. */
  corsOrigins: string[];
  /** Event-webhook endpoints may be plain http and point at private or loopback addresses (HERALD_WEBHOOK_ALLOW_PRIVATE). */
  webhookAllowPrivate: boolean;
  /** The mailto: address e-mails name in List-Unsubscribe beside the one-click URL (HERALD_UNSUBSCRIBE_MAILTO). */
  unsubscribeMailto?: string;
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
  /** Event webhooks: one attempt's bound, its retries, and the deliveries a worker runs at once. */
  webhooks: { timeoutMs: number; retryBaseMs: number; retryMaxDelayMs: number; concurrency: number };
  /** The retention purge runs this often (and once at start) in processes that send. */
  purgeIntervalMs: number;
  /** Each gateway's circuit breaker, shared by the workers through the database. */
  breaker: { windowMs: number; failureRate: number; minRequests: number; cooldownMs: number; probeIntervalMs: number };
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

// Validators. Each one's error message follows the variable's name ("PORT must be …"), and
// none echoes a value that may be a secret.

const invalid = (problem: string): never => {
  throw new EnvError(problem);
};

const wholeNumber = (min: number, max: number) =>
  makeValidator<number>((input) =>
    /^\d+$/.test(input) && Number(input) >= min && Number(input) <= max
      ? Number(input)
      : invalid(`must be a whole number from ${min} to ${max}, got "${input}"`),
  );

const urlOf = (...protocols: string[]) =>
  makeValidator<string>((input) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(input);
    } catch {
      // reported below
    }
    if (!parsed || !protocols.includes(parsed.protocol)) {
      invalid(`must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL, got "${input}"`);
    }
    return input.replace(/\/+$/, '');
  });

const flag = makeValidator<boolean>((input) => {
  const value = input.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return invalid(`must be true or false, got "${value}"`);
});

const logLevel = makeValidator<LogLevel>((input) =>
  LOG_LEVELS.includes(input as LogLevel) ? (input as LogLevel) : invalid(`must be one of ${LOG_LEVELS.join(', ')}, got "${input}"`),
);

const adminKey = makeValidator<string>((input) =>
  input.length >= 16 && input.length <= 256 && !/\s/.test(input) ? input : invalid('must be 16 to 256 characters without spaces'),
);

const secretKey = makeValidator<Buffer>((input) => parseSecretKey(input) ?? invalid('must be 32 bytes as 64 hex characters or base64'));

const secretKeys = makeValidator<Buffer[]>((input) =>
  input
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((raw, i) => parseSecretKey(raw) ?? invalid(`entry ${i + 1} must be 32 bytes as 64 hex characters or base64`)),
);

const twilioAccountSid = makeValidator<string>((input) =>
  /^AC[0-9a-fA-F]{32}$/.test(input) ? input : invalid('must be "AC" followed by 32 hex characters'),
);

const phoneNumber = makeValidator<string>((input) =>
  /^\+[1-9]\d{6,14}$/.test(input) ? input : invalid(`must be an E.164 number such as +14155550123, got "${input}"`),
);

const emailAddress = makeValidator<string>((input) =>
  EMAIL_PATTERN.test(input) ? input : invalid(`must be an e-mail address, got "${input}"`),
);

const sendgridPublicKey = makeValidator<string>((input) =>
  isSendgridVerificationKey(input) ? input : invalid('must be the verification key SendGrid shows for the signed event webhook (base64)'),
);

// The names proxy-addr knows, addresses, and CIDRs with a prefix that fits the address.
const proxies = makeValidator<number | string[]>((input) => {
  if (/^\d+$/.test(input)) {
    const hops = Number(input);
    if (hops >= 1 && hops <= 100) return hops;
  } else {
    const entries = input
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const valid = (entry: string): boolean => {
      if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
      const [address, prefix, ...rest] = entry.split('/');
      const version = isIP(address);
      if (version === 0 || rest.length > 0) return false;
      return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
    };
    if (entries.length > 0 && entries.every(valid)) return entries;
  }
  return invalid(
    `must be a hop count from 1 to 100 or a comma-separated list of proxy addresses or CIDRs (such as 10.0.0.0/8), got "${input}"`,
  );
});

// Browsers send the origin alone (scheme, host, port): anything else would never match.
const origins = makeValidator<string[]>((input) =>
  input
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((origin) => {
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        // reported below
      }
      return parsed && ['http:', 'https:'].includes(parsed.protocol) && parsed.origin === origin
        ? origin
        : invalid(`entries must be origins such as https://app.example.com (no path, no trailing slash, no *), got "${origin}"`);
    }),
);

const bearerToken = makeValidator<string>((input) =>
  input.length >= 16 && !/\s/.test(input) ? input : invalid('must be at least 16 characters without spaces'),
);

const countryCodes = makeValidator<string[]>((input) => {
  const codes = [
    ...new Set(
      input
        .split(',')
        .map((c) => c.trim().toUpperCase())
        .filter(Boolean),
    ),
  ];
  if (codes.length === 0 || !codes.every((c) => isSupportedCountry(c as CountryCode))) {
    invalid(`must be comma-separated ISO 3166 country codes such as US,CA, got "${input}"`);
  }
  return codes;
});

// Descriptions that one README row gives to several variables.
const LISTEN = 'where the HTTP server listens';
const TWILIO_GATEWAY = "the default tenant's default Twilio gateways for SMS / WhatsApp";
const SENDGRID_GATEWAY = "the default tenant's default SendGrid gateway for email";
const X_GATEWAY = "the default tenant's default X gateway for DMs";
const PROVIDER_BASE_URL = 'where each provider SDK sends requests (a proxy, a local fake)';
const BREAKER =
  "a gateway's circuit breaker opens when, within a window of this many seconds, at least this many sends were made and this share of them failed; routing then skips it";
const WEBHOOK_RETRY =
  'event-webhook retry backoff (±20 % jitter); a failed delivery is retried for 24 hours from its first attempt, then the endpoint is disabled if nothing it was sent has succeeded for 24 hours';
const RETRY = 'retry backoff (±20 % jitter) and the attempts before a message is FAILED';
const RATE_LIMIT =
  'requests on `/graphql`: `BURST` per window of `BURST / PER_SECOND` seconds, counted per valid API key, and per client address for requests without a valid key; over it → 429 `RATE_LIMITED` with `Retry-After`; rate `0` turns it off ([docs/security.md](docs/security.md#rate-limits))';
const HTTP_TIMEOUTS = 'time for a whole request to arrive; idle socket timeout (`0` = none)';

/**
 * Every variable Herald reads, in the README's order. `desc` is the variable's text in the
 * README's configuration table and `default` its default there ("unset…" when undefined:
 * absent, or worked out in loadConfig from other variables).
 */
export const ENVIRONMENT = {
  DATABASE_URL: urlOf('postgres:', 'postgresql:')({ default: undefined, desc: '`postgres://…` of PostgreSQL 13+' }),
  HERALD_DATA_DIR: str({ default: './.herald-data', desc: 'embedded database files, and the generated secret key' }),
  HERALD_PGLITE_VACUUM_SECONDS: wholeNumber(
    0,
    86_400,
  )({
    default: 300,
    desc: 'on PGlite only (it runs no autovacuum): VACUUM (ANALYZE) of `messages`, `delivery_logs` and `pgboss.job` this often, requests waiting meanwhile; `0` = never',
  }),
  PORT: wholeNumber(0, 65_535)({ default: 4000, desc: LISTEN }),
  HOST: str({ default: '127.0.0.1', desc: LISTEN }),
  PUBLIC_URL: urlOf('http:', 'https:')({ default: undefined, desc: 'externally visible base URL (webhook signatures)' }),
  HERALD_BOOTSTRAP_ADMIN_KEY: adminKey({
    default: undefined,
    desc: 'an ADMIN key with exactly this secret (16–256 chars) exists for the default tenant after start',
  }),
  HERALD_SECRET_KEY: secretKey({
    default: undefined,
    desc: '32 bytes (64 hex chars or base64) encrypting gateway credentials (AES-256-GCM); set it in production and give every process sharing a database the same one',
  }),
  HERALD_MAX_BODY_BYTES: wholeNumber(1024, 1024 * 1024 * 1024)({ default: 8 * 1024 * 1024, desc: 'largest request body; larger → 413' }),
  TWILIO_ACCOUNT_SID: twilioAccountSid({ default: undefined, desc: TWILIO_GATEWAY }),
  TWILIO_AUTH_TOKEN: str({ default: undefined, desc: TWILIO_GATEWAY }),
  TWILIO_SMS_FROM: phoneNumber({ default: undefined, desc: TWILIO_GATEWAY }),
  TWILIO_WHATSAPP_FROM: phoneNumber({ default: undefined, desc: TWILIO_GATEWAY }),
  SENDGRID_API_KEY: str({ default: undefined, desc: SENDGRID_GATEWAY }),
  SENDGRID_FROM_EMAIL: emailAddress({ default: undefined, desc: SENDGRID_GATEWAY }),
  TWITTER_APP_KEY: str({ default: undefined, desc: X_GATEWAY }),
  TWITTER_APP_SECRET: str({ default: undefined, desc: X_GATEWAY }),
  TWITTER_ACCESS_TOKEN: str({ default: undefined, desc: X_GATEWAY }),
  TWITTER_ACCESS_SECRET: str({ default: undefined, desc: X_GATEWAY }),
  TWILIO_API_BASE_URL: urlOf('http:', 'https:')({ default: undefined, desc: PROVIDER_BASE_URL }),
  SENDGRID_API_BASE_URL: urlOf('http:', 'https:')({ default: undefined, desc: PROVIDER_BASE_URL }),
  TWITTER_API_BASE_URL: urlOf('http:', 'https:')({ default: undefined, desc: PROVIDER_BASE_URL }),
  SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridPublicKey({
    default: undefined,
    desc: "verification key of SendGrid's signed event webhook, for the default tenant's e-mail; unset (and no gateway `webhookPublicKey`): SendGrid events are refused",
  }),
  LOG_LEVEL: logLevel({ default: 'info', desc: 'pino level' }),
  // Applied by src/production-mode.ts before graphql-js loads (it reads NODE_ENV once, then);
  // declared here so that it is documented with the rest.
  NODE_ENV: str({ default: 'production', desc: "`development` turns on graphql-js's development-only checks (slower on every request)" }),
  HERALD_WORKER_CONCURRENCY: wholeNumber(
    1,
    1024,
  )({
    // Enough sends in flight that a provider answering in 200-400 ms does not hold a worker
    // below what its CPU can carry (the bench's latency stage): the sends hold no database
    // connection while they wait (db/client.ts).
    default: 512,
    desc: "provider calls one worker process has out at once (each gateway still keeps to its own `maxPerSecond` and its provider's 429s)",
  }),
  HERALD_SEND_TIMEOUT_MS: wholeNumber(
    100,
    MAX_SEND_TIMEOUT_MS,
  )({ default: 10_000, desc: 'a provider call slower than this is a temporary failure' }),
  HERALD_STATEMENT_TIMEOUT_MS: wholeNumber(
    0,
    3_600_000,
  )({
    default: 5_000,
    desc: "PostgreSQL cancels a statement of Herald's own pool running longer than this (SQLSTATE 57014, logged under the error id the caller is shown), so one slow query cannot hold a connection; `0` = none. Not applicable on PGlite (one process, one connection)",
  }),
  HERALD_BULK_STATEMENT_TIMEOUT_MS: wholeNumber(
    0,
    3_600_000,
  )({
    default: 60_000,
    desc: "the same for a bulk write's statements (`notifyBillingCycle`); `0` = none. Migrations run with no statement timeout",
  }),
  // The defaults outlast a 10-minute provider outage.
  HERALD_RETRY_BASE_MS: wholeNumber(10, 600_000)({ default: 1_000, desc: RETRY }),
  HERALD_RETRY_MAX_DELAY_MS: wholeNumber(10, 3_600_000)({ default: 60_000, desc: RETRY }),
  HERALD_RETRY_MAX_ATTEMPTS: wholeNumber(1, 1_000)({ default: 25, desc: RETRY }),
  HERALD_WEBHOOK_TIMEOUT_MS: wholeNumber(
    100,
    MAX_WEBHOOK_TIMEOUT_MS,
  )({ default: 10_000, desc: 'an event-webhook attempt without a whole answer within this (connecting included) fails and is retried' }),
  HERALD_WEBHOOK_RETRY_BASE_MS: wholeNumber(10, 600_000)({ default: 5_000, desc: WEBHOOK_RETRY }),
  HERALD_WEBHOOK_RETRY_MAX_DELAY_MS: wholeNumber(10, 86_400_000)({ default: 3_600_000, desc: WEBHOOK_RETRY }),
  HERALD_WEBHOOK_CONCURRENCY: wholeNumber(
    1,
    256,
  )({
    default: 32,
    desc: 'event-webhook deliveries one worker process makes at once (at most 4 to an endpoint whose last attempt failed, across all workers)',
  }),
  HERALD_BREAKER_WINDOW_SECONDS: wholeNumber(1, 3_600)({ default: 30, desc: BREAKER }),
  HERALD_BREAKER_FAILURE_PERCENT: wholeNumber(1, 100)({ default: 50, desc: BREAKER }),
  HERALD_BREAKER_MIN_SENDS: wholeNumber(1, 100_000)({ default: 5, desc: BREAKER }),
  HERALD_BREAKER_COOLDOWN_SECONDS: wholeNumber(
    1,
    86_400,
  )({
    default: 30,
    desc: 'an open breaker lets a trickle of sends through (one a second per worker) after this long; a success closes it, a failure opens it again',
  }),
  HERALD_SECRET_KEY_PREVIOUS: secretKeys({
    default: undefined,
    desc: 'old secret keys (comma-separated) that still open credentials sealed before a rotation; never used to seal; drop them after `npm run rotate-secrets` ([docs/security.md](docs/security.md#rotating-herald_secret_key))',
  }),
  HERALD_MAX_QUERY_DEPTH: wholeNumber(
    2,
    1_000,
  )({ default: 12, desc: 'most fields on one path of a GraphQL operation; deeper → 400 `QUERY_TOO_DEEP`' }),
  HERALD_MAX_QUERY_COST: wholeNumber(
    1,
    100_000_000,
  )({
    default: 5_000,
    desc: 'most objects an operation may ask for (lists × `first`, other lists × 10); more → 400 `QUERY_TOO_COSTLY`',
  }),
  HERALD_MAX_ALIASES: wholeNumber(0, 100_000)({ default: 30, desc: 'most aliases in a document; more → 400 `TOO_MANY_ALIASES`' }),
  HERALD_MAX_QUERY_TOKENS: wholeNumber(
    100,
    1_000_000,
  )({
    default: 2_000,
    desc: 'most tokens in a document (variables do not count); more → 400 `GRAPHQL_PARSE_FAILED`',
  }),
  HERALD_MAX_DIRECTIVES: wholeNumber(
    0,
    100_000,
  )({
    default: 50,
    desc: 'most directives in an operation, fragments included; more → 400 `GRAPHQL_VALIDATION_FAILED`',
  }),
  HERALD_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: wholeNumber(
    1,
    10_000,
  )({
    default: 10,
    desc: 'subscriptions one WebSocket connection may hold; the next → `TOO_MANY_SUBSCRIPTIONS` on that subscribe (the connection stays)',
  }),
  HERALD_WS_MAX_SUBSCRIPTIONS_PER_KEY: wholeNumber(
    1,
    1_000_000,
  )({
    default: 50,
    desc: 'subscriptions one API key may hold across its WebSocket connections to one process; the next → `TOO_MANY_SUBSCRIPTIONS`',
  }),
  HERALD_WS_CONNECTION_INIT_TIMEOUT_MS: wholeNumber(
    100,
    600_000,
  )({
    default: 5_000,
    desc: 'a WebSocket that has not sent `connection_init` by then is closed (4408)',
  }),
  HERALD_INTROSPECTION: flag({ default: true, desc: '`false` refuses `__schema`/`__type` (GraphiQL then cannot load the schema)' }),
  HERALD_RATE_LIMIT_PER_SECOND: wholeNumber(0, 1_000_000)({ default: 500, desc: RATE_LIMIT }),
  HERALD_RATE_LIMIT_BURST: wholeNumber(1, 10_000_000)({ default: 1_000, desc: RATE_LIMIT }),
  // Off unless set: trusting X-Forwarded-For from anyone would let every client pick its own address.
  HERALD_TRUST_PROXY: proxies({
    default: undefined,
    desc: 'hop count (`1`) or comma-separated addresses/CIDRs of trusted proxies; the client address for rate limits then comes from `X-Forwarded-For`, which is ignored otherwise',
  }),
  HERALD_CORS_ORIGINS: origins({
    default: undefined,
    desc: 'comma-separated origins (`https://app.example.com`) allowed to call `/graphql` from a browser; others get no CORS headers',
  }),
  // Off unless set: an endpoint URL is the caller's choice, and Herald's own network is not theirs to reach.
  HERALD_WEBHOOK_ALLOW_PRIVATE: flag({
    default: false,
    desc: '`true` lets event-webhook endpoints be plain `http` and resolve to private, loopback or link-local addresses (tests, private networks)',
  }),
  HERALD_UNSUBSCRIBE_MAILTO: emailAddress({
    default: undefined,
    desc: 'an address every e-mail also names in `List-Unsubscribe` (`<mailto:…?subject=unsubscribe>`), beside the one-click URL under `PUBLIC_URL`; unset: the URL alone',
  }),
  HERALD_METRICS_TOKEN: bearerToken({
    default: undefined,
    desc: 'when set (16+ characters), `/metrics` requires `Authorization: Bearer <token>`, else 401',
  }),
  HERALD_METRICS_GAUGE_SECONDS: wholeNumber(
    0,
    3_600,
  )({
    default: 10,
    desc: 'a `/metrics` gauge read from the database (`herald_queue_depth`, `herald_sending_overdue`) is read at most this often, each read cut off after 2 s (NaN then); `0` = at every scrape',
  }),
  // Send budgets are on by default, against a leaked key pumping SMS on the tenant's bill:
  // figures a small business does not reach by accident.
  HERALD_SEND_BUDGET_PER_MINUTE: wholeNumber(
    0,
    100_000_000,
  )({
    default: 1_000,
    desc: 'messages a tenant may queue per minute, counted in PostgreSQL across all API processes ([Send budgets](#send-budgets)); `0` = no limit. `HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE`, its old name, is still read (not both)',
  }),
  HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE: wholeNumber(
    0,
    100_000_000,
  )({
    default: undefined,
    desc: 'the old name of `HERALD_SEND_BUDGET_PER_MINUTE`, still read when that one is unset',
  }),
  HERALD_SEND_BUDGET_PER_DAY: wholeNumber(
    0,
    1_000_000_000,
  )({ default: 50_000, desc: 'messages a tenant may queue per day; `0` = no limit' }),
  HERALD_INTERNATIONAL_SENDS_PER_DAY: wholeNumber(
    0,
    1_000_000_000,
  )({
    default: 100,
    desc: 'SMS and WhatsApp messages a tenant may queue per day to numbers outside its home countries; `0` = no limit',
  }),
  // Unset: the countries of the environment's Twilio numbers, else the US.
  HERALD_HOME_COUNTRIES: countryCodes({
    default: undefined,
    desc: 'comma-separated ISO 3166 codes (`US,CA`) whose numbers are not international',
  }),
  HERALD_PURGE_INTERVAL_SECONDS: wholeNumber(
    1,
    604_800,
  )({
    default: 3_600,
    desc: "the retention purge runs this often, and once at start, in each process that sends (role `all` or `worker`): it removes what is older than each tenant's `retentionDays` ([Retention](#retention))",
  }),
  HERALD_REQUEST_TIMEOUT_MS: wholeNumber(0, 3_600_000)({ default: 30_000, desc: HTTP_TIMEOUTS }),
  HERALD_CONNECTION_TIMEOUT_MS: wholeNumber(0, 3_600_000)({ default: 120_000, desc: HTTP_TIMEOUTS }),
};

export type EnvironmentVariable = keyof typeof ENVIRONMENT;

/** Old names still read, each with the variable that replaced it; setting both is refused. */
export const RENAMED: Partial<Record<EnvironmentVariable, EnvironmentVariable>> = {
  HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE: 'HERALD_SEND_BUDGET_PER_MINUTE',
};

type Env = Record<string, string | undefined>;

/** Reads and checks the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  // A variable set to blanks counts as unset.
  const set: Partial<Record<EnvironmentVariable, string>> = {};
  for (const name of Object.keys(ENVIRONMENT) as EnvironmentVariable[]) {
    const value = env[name]?.trim();
    if (value) set[name] = value;
  }

  const problems: string[] = [];
  const e = cleanEnv(set, ENVIRONMENT, {
    reporter: ({ errors }) => {
      for (const [name, error] of Object.entries(errors)) if (error) problems.push(`${name} ${error.message}`);
    },
  });

  for (const [old, current] of Object.entries(RENAMED)) {
    if (set[old as EnvironmentVariable] !== undefined && set[current] !== undefined) {
      problems.push(`${old} is the old name of ${current}: set only ${current}`);
    }
  }

  // A credential set is all or nothing: half of one is a typo, not a choice.
  const allOrNothing = (names: EnvironmentVariable[]): boolean => {
    const present = names.filter((name) => set[name] !== undefined);
    if (present.length > 0 && present.length < names.length) {
      const missing = names.filter((name) => set[name] === undefined);
      problems.push(`${missing.join(', ')} must be set together with ${present.join(', ')}`);
    }
    return present.length === names.length;
  };
  const senders = set.TWILIO_SMS_FROM !== undefined || set.TWILIO_WHATSAPP_FROM !== undefined;
  const hasTwilio = allOrNothing(['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']);
  if (hasTwilio && !senders) problems.push('TWILIO_SMS_FROM or TWILIO_WHATSAPP_FROM must be set with TWILIO_ACCOUNT_SID');
  if (senders && set.TWILIO_ACCOUNT_SID === undefined && set.TWILIO_AUTH_TOKEN === undefined) {
    problems.push(
      `TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN must be set together with ${set.TWILIO_SMS_FROM ? 'TWILIO_SMS_FROM' : 'TWILIO_WHATSAPP_FROM'}`,
    );
  }
  const hasSendgrid = allOrNothing(['SENDGRID_API_KEY', 'SENDGRID_FROM_EMAIL']);
  const hasTwitter = allOrNothing(['TWITTER_APP_KEY', 'TWITTER_APP_SECRET', 'TWITTER_ACCESS_TOKEN', 'TWITTER_ACCESS_SECRET']);

  // Rotation: the old key(s) still open what they sealed; only the new one seals.
  if (set.HERALD_SECRET_KEY_PREVIOUS !== undefined && set.HERALD_SECRET_KEY === undefined) {
    problems.push('HERALD_SECRET_KEY_PREVIOUS needs HERALD_SECRET_KEY (the new key) set too');
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const twilio: TwilioEnv | undefined = hasTwilio
    ? {
        accountSid: e.TWILIO_ACCOUNT_SID!,
        authToken: e.TWILIO_AUTH_TOKEN!,
        smsFrom: e.TWILIO_SMS_FROM,
        whatsappFrom: e.TWILIO_WHATSAPP_FROM,
      }
    : undefined;
  const senderCountries = [twilio?.smsFrom, twilio?.whatsappFrom].flatMap((n) => (n ? (parsePhoneNumberFromString(n)?.country ?? []) : []));
  const host = e.HOST;
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.HERALD_DATA_DIR),
    pgliteVacuumMs: e.HERALD_PGLITE_VACUUM_SECONDS * 1_000,
    host,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${e.PORT}`,
    bootstrapAdminKey: e.HERALD_BOOTSTRAP_ADMIN_KEY,
    secretKey: e.HERALD_SECRET_KEY,
    previousSecretKeys: e.HERALD_SECRET_KEY_PREVIOUS ?? [],
    maxBodyBytes: e.HERALD_MAX_BODY_BYTES,
    requestTimeoutMs: e.HERALD_REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: e.HERALD_CONNECTION_TIMEOUT_MS,
    graphqlLimits: {
      maxDepth: e.HERALD_MAX_QUERY_DEPTH,
      maxCost: e.HERALD_MAX_QUERY_COST,
      maxAliases: e.HERALD_MAX_ALIASES,
      maxDirectives: e.HERALD_MAX_DIRECTIVES,
      maxTokens: e.HERALD_MAX_QUERY_TOKENS,
    },
    websocket: {
      connectionInitTimeoutMs: e.HERALD_WS_CONNECTION_INIT_TIMEOUT_MS,
      maxSubscriptionsPerConnection: e.HERALD_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxSubscriptionsPerKey: e.HERALD_WS_MAX_SUBSCRIPTIONS_PER_KEY,
    },
    introspection: e.HERALD_INTROSPECTION,
    rateLimit: { perSecond: e.HERALD_RATE_LIMIT_PER_SECOND, burst: e.HERALD_RATE_LIMIT_BURST },
    trustProxy: e.HERALD_TRUST_PROXY ?? false,
    corsOrigins: e.HERALD_CORS_ORIGINS ?? [],
    webhookAllowPrivate: e.HERALD_WEBHOOK_ALLOW_PRIVATE,
    metricsToken: e.HERALD_METRICS_TOKEN,
    unsubscribeMailto: e.HERALD_UNSUBSCRIBE_MAILTO,
    metricsGaugeMaxAgeMs: e.HERALD_METRICS_GAUGE_SECONDS * 1_000,
    sendBudget: {
      perMinute:
        set.HERALD_SEND_BUDGET_PER_MINUTE === undefined
          ? (e.HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE ?? e.HERALD_SEND_BUDGET_PER_MINUTE)
          : e.HERALD_SEND_BUDGET_PER_MINUTE,
      perDay: e.HERALD_SEND_BUDGET_PER_DAY,
      internationalPerDay: e.HERALD_INTERNATIONAL_SENDS_PER_DAY,
      homeCountries: e.HERALD_HOME_COUNTRIES ?? (senderCountries.length > 0 ? [...new Set(senderCountries)] : ['US']),
    },
    logLevel: e.LOG_LEVEL,
    twilio,
    sendgrid: hasSendgrid ? { apiKey: e.SENDGRID_API_KEY!, fromEmail: e.SENDGRID_FROM_EMAIL! } : undefined,
    twitter: hasTwitter
      ? {
          appKey: e.TWITTER_APP_KEY!,
          appSecret: e.TWITTER_APP_SECRET!,
          accessToken: e.TWITTER_ACCESS_TOKEN!,
          accessSecret: e.TWITTER_ACCESS_SECRET!,
        }
      : undefined,
    sendgridWebhookPublicKey: e.SENDGRID_WEBHOOK_PUBLIC_KEY,
    providerBaseUrls: { twilio: e.TWILIO_API_BASE_URL, sendgrid: e.SENDGRID_API_BASE_URL, twitter: e.TWITTER_API_BASE_URL },
    workerConcurrency: e.HERALD_WORKER_CONCURRENCY,
    sendTimeoutMs: e.HERALD_SEND_TIMEOUT_MS,
    statementTimeoutMs: e.HERALD_STATEMENT_TIMEOUT_MS,
    bulkStatementTimeoutMs: e.HERALD_BULK_STATEMENT_TIMEOUT_MS,
    purgeIntervalMs: e.HERALD_PURGE_INTERVAL_SECONDS * 1_000,
    retry: { baseDelayMs: e.HERALD_RETRY_BASE_MS, maxDelayMs: e.HERALD_RETRY_MAX_DELAY_MS, maxAttempts: e.HERALD_RETRY_MAX_ATTEMPTS },
    breaker: {
      windowMs: e.HERALD_BREAKER_WINDOW_SECONDS * 1_000,
      failureRate: e.HERALD_BREAKER_FAILURE_PERCENT / 100,
      minRequests: e.HERALD_BREAKER_MIN_SENDS,
      cooldownMs: e.HERALD_BREAKER_COOLDOWN_SECONDS * 1_000,
      probeIntervalMs: 1_000,
    },
    webhooks: {
      timeoutMs: e.HERALD_WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.HERALD_WEBHOOK_RETRY_BASE_MS,
      retryMaxDelayMs: e.HERALD_WEBHOOK_RETRY_MAX_DELAY_MS,
      concurrency: e.HERALD_WEBHOOK_CONCURRENCY,
    },
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
