import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('loadConfig', () => {
  it('has working defaults for a fresh machine', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      publicUrl: 'http://127.0.0.1:4000',
      dataDir: path.resolve('.herald-data'),
      maxBodyBytes: 8 * 1024 * 1024,
      logLevel: 'info',
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.twilio).toBeUndefined();
  });

  it('reads every credential set', () => {
    const config = loadConfig({
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_SMS_FROM: '+15005550006',
      SENDGRID_API_KEY: 'SG.key',
      SENDGRID_FROM_EMAIL: 'noreply@example.com',
      TWITTER_APP_KEY: 'a',
      TWITTER_APP_SECRET: 'b',
      TWITTER_ACCESS_TOKEN: 'c',
      TWITTER_ACCESS_SECRET: 'd',
      TWILIO_API_BASE_URL: 'http://127.0.0.1:9999/',
    });
    expect(config.twilio).toEqual({
      accountSid: `AC${'a'.repeat(32)}`,
      authToken: 'token',
      smsFrom: '+15005550006',
      whatsappFrom: undefined,
    });
    expect(config.sendgrid).toEqual({ apiKey: 'SG.key', fromEmail: 'noreply@example.com' });
    expect(config.twitter).toEqual({ appKey: 'a', appSecret: 'b', accessToken: 'c', accessSecret: 'd' });
    expect(config.providerBaseUrls.twilio).toBe('http://127.0.0.1:9999');
  });

  it.each([
    [{ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_SMS_FROM: '+15005550006' }, 'TWILIO_AUTH_TOKEN'],
    [{ SENDGRID_API_KEY: 'SG.x' }, 'SENDGRID_FROM_EMAIL'],
    [{ TWITTER_APP_KEY: 'a', TWITTER_APP_SECRET: 'b' }, 'TWITTER_ACCESS_TOKEN'],
    [{ TWILIO_SMS_FROM: '+15005550006' }, 'TWILIO_ACCOUNT_SID'],
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ PUBLIC_URL: 'example.com' }, 'PUBLIC_URL'],
    [{ TWILIO_API_BASE_URL: 'ftp://x' }, 'TWILIO_API_BASE_URL'],
    [{ HERALD_MAX_BODY_BYTES: '-5' }, 'HERALD_MAX_BODY_BYTES'],
    [{ HERALD_SECRET_KEY: 'short' }, 'HERALD_SECRET_KEY'],
    [{ HERALD_BOOTSTRAP_ADMIN_KEY: 'short' }, 'HERALD_BOOTSTRAP_ADMIN_KEY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ HERALD_STATEMENT_TIMEOUT_MS: '5s' }, 'HERALD_STATEMENT_TIMEOUT_MS'],
    [{ HERALD_STATEMENT_TIMEOUT_MS: '-1' }, 'HERALD_STATEMENT_TIMEOUT_MS'],
    [{ HERALD_BULK_STATEMENT_TIMEOUT_MS: '1.5' }, 'HERALD_BULK_STATEMENT_TIMEOUT_MS'],
    [{ HERALD_BULK_STATEMENT_TIMEOUT_MS: '3600001' }, 'HERALD_BULK_STATEMENT_TIMEOUT_MS'],
  ])('refuses %o naming %s', (env, variable) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(variable);
  });

  it('gives API statements a few seconds and bulk writes a minute, each settable, 0 for none', () => {
    expect(loadConfig({})).toMatchObject({ statementTimeoutMs: 5_000, bulkStatementTimeoutMs: 60_000 });
    expect(loadConfig({ HERALD_STATEMENT_TIMEOUT_MS: '250', HERALD_BULK_STATEMENT_TIMEOUT_MS: '120000' })).toMatchObject({
      statementTimeoutMs: 250,
      bulkStatementTimeoutMs: 120_000,
    });
    expect(loadConfig({ HERALD_STATEMENT_TIMEOUT_MS: '0', HERALD_BULK_STATEMENT_TIMEOUT_MS: '0' })).toMatchObject({
      statementTimeoutMs: 0,
      bulkStatementTimeoutMs: 0,
    });
  });

  it('purges expired data hourly unless HERALD_PURGE_INTERVAL_SECONDS says otherwise, and refuses 0', () => {
    expect(loadConfig({}).purgeIntervalMs).toBe(3_600_000);
    expect(loadConfig({ HERALD_PURGE_INTERVAL_SECONDS: '60' }).purgeIntervalMs).toBe(60_000);
    expect(() => loadConfig({ HERALD_PURGE_INTERVAL_SECONDS: '0' })).toThrow(/HERALD_PURGE_INTERVAL_SECONDS must be a whole number from 1/);
  });

  it('caps subscriptions per WebSocket connection and per key, and waits 5 s for connection_init, each settable', () => {
    expect(loadConfig({}).websocket).toEqual({
      connectionInitTimeoutMs: 5_000,
      maxSubscriptionsPerConnection: 10,
      maxSubscriptionsPerKey: 50,
    });
    expect(loadConfig({}).graphqlLimits.maxDirectives).toBe(50);
    expect(
      loadConfig({
        HERALD_WS_CONNECTION_INIT_TIMEOUT_MS: '300',
        HERALD_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
        HERALD_WS_MAX_SUBSCRIPTIONS_PER_KEY: '3',
        HERALD_MAX_DIRECTIVES: '5',
      }),
    ).toMatchObject({
      websocket: { connectionInitTimeoutMs: 300, maxSubscriptionsPerConnection: 2, maxSubscriptionsPerKey: 3 },
      graphqlLimits: { maxDirectives: 5 },
    });
    for (const variable of [
      'HERALD_WS_CONNECTION_INIT_TIMEOUT_MS',
      'HERALD_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION',
      'HERALD_WS_MAX_SUBSCRIPTIONS_PER_KEY',
    ]) {
      expect(problemsOf({ [variable]: '0' })[0]).toContain(variable);
    }
  });

  it('never echoes a secret value in a problem', () => {
    const problems = problemsOf({
      TWILIO_ACCOUNT_SID: 'ACnot-a-sid',
      TWILIO_AUTH_TOKEN: 'hunter2-secret',
      TWILIO_SMS_FROM: '+15005550006',
    });
    expect(problems.join(' ')).toContain('TWILIO_ACCOUNT_SID');
    expect(problems.join(' ')).not.toContain('hunter2-secret');
  });
  it('trusts no proxy by default, and a hop count or a list of addresses and CIDRs when HERALD_TRUST_PROXY says so', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ HERALD_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ HERALD_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8,loopback' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      'fd00::/8',
      'loopback',
    ]);
    for (const bad of ['0', 'true', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1,,nope', '::1/129']) {
      const problems = problemsOf({ HERALD_TRUST_PROXY: bad });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^HERALD_TRUST_PROXY must be a hop count/);
    }
  });

  it('allows no CORS origin by default, and the listed origins with HERALD_CORS_ORIGINS', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ HERALD_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    for (const bad of ['*', 'https://app.example.com/', 'app.example.com', 'https://app.example.com/path', 'ftp://files.example.com']) {
      const problems = problemsOf({ HERALD_CORS_ORIGINS: bad });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('HERALD_CORS_ORIGINS');
    }
  });

  it('leaves /metrics open by default; HERALD_METRICS_TOKEN must be 16 characters or more, and is never echoed', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ HERALD_METRICS_TOKEN: 'scrape-token-0123456789' }).metricsToken).toBe('scrape-token-0123456789');
    const problems = problemsOf({ HERALD_METRICS_TOKEN: 'short-secret' });
    expect(problems).toEqual(['HERALD_METRICS_TOKEN must be at least 16 characters without spaces']);
  });

  it('reads database gauges at most every 10 s by default, settable by HERALD_METRICS_GAUGE_SECONDS (0: every scrape)', () => {
    expect(loadConfig({}).metricsGaugeMaxAgeMs).toBe(10_000);
    expect(loadConfig({ HERALD_METRICS_GAUGE_SECONDS: '0' }).metricsGaugeMaxAgeMs).toBe(0);
    expect(problemsOf({ HERALD_METRICS_GAUGE_SECONDS: '-1' })[0]).toContain('HERALD_METRICS_GAUGE_SECONDS');
  });
  it('turns send budgets on by default, each settable (0: off), with the old per-minute name still read', () => {
    expect(loadConfig({}).sendBudget).toEqual({ perMinute: 1_000, perDay: 50_000, internationalPerDay: 100, homeCountries: ['US'] });
    expect(
      loadConfig({
        HERALD_SEND_BUDGET_PER_MINUTE: '0',
        HERALD_SEND_BUDGET_PER_DAY: '200000',
        HERALD_INTERNATIONAL_SENDS_PER_DAY: '5',
        HERALD_HOME_COUNTRIES: 'gb, ie,GB',
      }).sendBudget,
    ).toEqual({ perMinute: 0, perDay: 200_000, internationalPerDay: 5, homeCountries: ['GB', 'IE'] });
    expect(loadConfig({ HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE: '5' }).sendBudget.perMinute).toBe(5);
    expect(problemsOf({ HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE: '5', HERALD_SEND_BUDGET_PER_MINUTE: '6' })[0]).toMatch(
      /old name of HERALD_SEND_BUDGET_PER_MINUTE/,
    );
    expect(problemsOf({ HERALD_SEND_BUDGET_PER_DAY: 'lots' })[0]).toContain('HERALD_SEND_BUDGET_PER_DAY');
    expect(problemsOf({ HERALD_HOME_COUNTRIES: 'US,XX' })).toEqual([
      'HERALD_HOME_COUNTRIES must be comma-separated ISO 3166 country codes such as US,CA, got "US,XX"',
    ]);
  });

  it('takes the home countries from the Twilio sender numbers when HERALD_HOME_COUNTRIES is unset', () => {
    const twilio = { TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'token' };
    expect(
      loadConfig({ ...twilio, TWILIO_SMS_FROM: '+447400123456', TWILIO_WHATSAPP_FROM: '+33612345678' }).sendBudget.homeCountries,
    ).toEqual(['GB', 'FR']);
    expect(loadConfig({ ...twilio, TWILIO_SMS_FROM: '+447400123456', HERALD_HOME_COUNTRIES: 'IE' }).sendBudget.homeCountries).toEqual([
      'IE',
    ]);
  });
});
