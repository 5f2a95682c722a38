// Personal data and secrets: a full run (recipients with phones and e-mails, SMS through a
// tenant's Twilio gateway, an order update through SANDBOX, failed requests carrying keys,
// an unexpected database failure) leaves no phone number, e-mail, message text, API key or
// credential in the log; credentials are sealed at rest and survive a HERALD_SECRET_KEY
// rotation; an unexpected error reaches the client as an id and nothing else.
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { fakeTwilioAccount, INVALID_NUMBER, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

const OLD_KEY = randomBytes(32).toString('hex');
const NEW_KEY = randomBytes(32).toString('base64');
const envAccount = fakeTwilioAccount();
const tenantAccount = fakeTwilioAccount();
const TENANT_FROM = '+15005550009';

let fake: TwilioFake;
let herald: TestHerald;
/** Log lines of every start of the server in this file (each restart has its own `logs`). */
const earlierLogs: string[] = [];
const allLogs = () => [...earlierLogs, ...herald.logs].join('');

const baseEnv = (): Record<string, string> => ({
  TWILIO_ACCOUNT_SID: envAccount.accountSid,
  TWILIO_AUTH_TOKEN: envAccount.authToken,
  TWILIO_SMS_FROM: '+15005550006',
  TWILIO_API_BASE_URL: fake.url,
  PUBLIC_URL: 'https://herald.example.test',
  HERALD_RETRY_BASE_MS: '50',
  HERALD_RETRY_MAX_DELAY_MS: '200',
  HERALD_RETRY_MAX_ATTEMPTS: '2',
});

async function restart(env: Record<string, string>): Promise<void> {
  earlierLogs.push(...herald.logs);
  herald = await herald.restart({ ...baseEnv(), ...env });
}

beforeAll(async () => {
  fake = await startTwilioFake({ accounts: [envAccount, tenantAccount] });
  herald = await startTestHerald({ env: { ...baseEnv(), HERALD_SECRET_KEY: OLD_KEY } });
});
afterAll(async () => {
  // The last test closed the database under the server: stop what is left, bounded.
  await Promise.race([herald?.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 20_000))]);
  await herald?.database.drop().catch(() => undefined);
  await fake?.close();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rowsOf = (result: unknown) => (result as { rows: Record<string, unknown>[] }).rows;
const fingerprint = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 12);
const keyBytes = (raw: string) => (/^[0-9a-f]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64'));

const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { userErrors { field message code } } }`;
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id } userErrors { field message code } } }`;
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { id channel } failures { reason } userErrors { code } } }`;

async function waitForStatus(id: string, wanted: string[], key: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = ok(await herald.gql('query($id: ID!) { message(id: $id) { status } }', { id }, key)).message.status as string;
    if (wanted.includes(status)) return status;
    if (Date.now() > deadline) throw new Error(`message ${id} is still ${status}`);
    await pause(50);
  }
}

/** Everything that must never be logged, named for the failure message. */
const secrets = new Map<string, string>();
function secret(name: string, value: string): string {
  secrets.set(name, value);
  return value;
}

function expectNoSecretIn(text: string): void {
  for (const [name, value] of secrets) {
    expect(text.includes(value), `${name} (${value.slice(0, 6)}…) appears in the log`).toBe(false);
    // Phone numbers also without their "+", as a provider or a driver might print them.
    if (/^\+\d{8,}$/.test(value)) expect(text.includes(value.slice(1)), `${name} without "+" appears in the log`).toBe(false);
  }
}

let tenant: { adminKey: string; sender: string; gatewayId: string; client: { id: string } };

describe('logs without personal data', () => {
  it('runs recipients, SMS through Twilio, an order update through SANDBOX and failed requests without logging a phone, e-mail, text, key or credential', async () => {
    secret('operator key', herald.adminKey);
    secret('HERALD_SECRET_KEY', OLD_KEY);
    secret('env Twilio token', envAccount.authToken);
    secret('tenant Twilio token', tenantAccount.authToken);

    const { adminKey } = await buildTenant(herald);
    secret('tenant admin key', adminKey);
    const sender = secret('sender key', await buildApiKey(herald, 'SENDER', adminKey));
    const added = ok(
      await herald.gql(
        ADD_GATEWAY,
        {
          input: {
            channel: 'SMS',
            provider: 'TWILIO',
            name: 'branch-sms',
            makeDefault: true,
            credentials: JSON.stringify({ accountSid: tenantAccount.accountSid, authToken: tenantAccount.authToken, from: TENANT_FROM }),
          },
        },
        adminKey,
      ),
    ).addChannelGateway;
    expect(added.userErrors).toEqual([]);

    const client = await buildRecipient(
      herald,
      {
        kind: 'CLIENT',
        displayName: 'Client',
        phone: secret('client phone', '+14155550191'),
        email: secret('client e-mail', 'client.private@example.org'),
      },
      adminKey,
    );
    const staff = await buildRecipient(herald, { kind: 'STAFF', displayName: 'Staff', phone: INVALID_NUMBER }, adminKey);
    const customer = await buildRecipient(
      herald,
      {
        kind: 'CUSTOMER',
        displayName: 'Customer',
        phone: secret('customer phone', '+14155550192'),
        email: secret('customer e-mail', 'customer.private@example.net'),
        whatsapp: secret('customer WhatsApp', '+14155550193'),
        twitterHandle: secret('customer X handle', 'priv_handle_773'),
      },
      adminKey,
    );
    tenant = { adminKey, sender, gatewayId: added.gateway.id, client };

    // SMS through the tenant's Twilio gateway, and one Twilio refuses (invalid number).
    const sms = ok(
      await herald.gql(
        SEND,
        { input: { clientId: client.id, message: secret('SMS text', 'Your private code is 884211 (sms body)') } },
        sender,
      ),
    ).sendSms;
    expect(sms.userErrors).toEqual([]);
    const refused = ok(
      await herald.gql(
        SEND,
        { input: { staffId: staff.id, message: secret('SMS text 2', 'Shift swap confirmed for Tuesday (sms body 2)') } },
        sender,
      ),
    ).sendSms;
    expect(refused.userErrors).toEqual([]);
    expect(await waitForStatus(sms.message.id, ['SENT'], sender)).toBe('SENT');
    expect(await waitForStatus(refused.message.id, ['FAILED'], sender)).toBe('FAILED');
    expect(fake.messages.some((m) => m.to === '+14155550191')).toBe(true);

    // An order update through SANDBOX gateways (e-mail and WhatsApp).
    for (const channel of ['EMAIL', 'WHATSAPP']) {
      expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: customer.id, channel } }, adminKey)).subscribe.userErrors).toEqual([]);
    }
    const order = ok(
      await herald.gql(
        UPDATE_ORDER,
        {
          input: {
            customerId: customer.id,
            orderId: 'ORD-PRIV-1',
            status: 'SHIPPED',
            note: secret('order note', 'Leave it with the neighbour at no. 12 (order note)'),
          },
        },
        sender,
      ),
    ).updateOrderStatus;
    expect(order.userErrors).toEqual([]);
    expect(order.messages.map((m: { channel: string }) => m.channel).sort()).toEqual(['EMAIL', 'WHATSAPP']);
    for (const message of order.messages) expect(await waitForStatus(message.id, ['SENT'], sender)).toBe('SENT');

    // Changing contact data.
    const updated = ok(
      await herald.gql(
        'mutation($input: UpdateRecipientInput!) { updateRecipient(input: $input) { userErrors { code } } }',
        {
          input: {
            id: customer.id,
            phone: secret('new customer phone', '+14155550194'),
            email: secret('new customer e-mail', 'moved.private@example.com'),
          },
        },
        adminKey,
      ),
    ).updateRecipient;
    expect(updated.userErrors).toEqual([]);

    // Failed requests carrying keys, personal data and credentials.
    const unknownKey = secret('unknown key', `hrld_${randomBytes(32).toString('base64url')}`);
    expect((await herald.gql('{ viewer { id } }', undefined, unknownKey)).status).toBe(401);
    expect((await herald.gql('{ viewer { id ', undefined, adminKey)).status).toBe(400);
    const wrongType = await herald.gql(
      'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } } }',
      { input: { kind: 'CLIENT', displayName: 'Typed wrong', phone: { number: secret('phone in a bad variable', '+14155550195') } } },
      adminKey,
    );
    expect(wrongType.status).toBe(400);
    const badCredentials = await herald.gql(
      ADD_GATEWAY,
      {
        input: {
          channel: 'SMS',
          provider: 'TWILIO',
          name: 'bad',
          credentials: { authToken: secret('token sent as an object', 'tok_objectform_5521') },
        },
      },
      adminKey,
    );
    expect(badCredentials.status).toBe(400);
    const response = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Token ${adminKey}` },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(response.status).toBe(401);
    for (const body of [wrongType, badCredentials]) expectNoSecretIn(JSON.stringify(body));

    const logs = allLogs();
    // The log did record the run (so the scan is not of an empty log)…
    for (const line of ['gateway added', 'API key created', 'order status notified', 'message failed']) expect(logs).toContain(line);
    // …and none of what it must not.
    expectNoSecretIn(logs);
  }, 120_000);
});

describe('the logger', () => {
  const capture = () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    return { log: createLogger('trace', sink), text: () => lines.join('') };
  };

  it('redacts personal data, message text, keys and credentials by field name, wherever they are nested', () => {
    const { log, text } = capture();
    log.info(
      {
        phone: '+14155550181',
        recipient: { email: 'a.private@example.com', whatsapp: '+14155550182', twitterHandle: 'hidden_h' },
        message: { body: 'secret body text', htmlBody: '<p>secret html</p>', destination: '+14155550183', to: '+14155550184' },
        variables: { input: { phone: '+14155550185' } },
        gateway: { credentials: { authToken: 'tok_1', accessToken: 'tok_2', appKey: 'tok_3', apiKey: 'tok_4' } },
        req: { headers: { authorization: 'Bearer hrld_abc', cookie: 'c=1', 'x-twilio-signature': 'sig_1' } },
        adminKey: 'hrld_admin',
        messageId: 'msg_kept',
      },
      'event',
    );
    const out = text();
    for (const value of [
      '+14155550181',
      'a.private@',
      '+14155550182',
      'hidden_h',
      'secret body',
      'secret html',
      '+14155550183',
      '+14155550184',
      '+14155550185',
      'tok_',
      'hrld_',
      'c=1',
      'sig_1',
    ]) {
      expect(out).not.toContain(value);
    }
    expect(out).toContain('msg_kept');
    expect(out).toContain('[redacted]');
  });

  it('logs a failed query with its SQL but without its parameters (drizzle puts them in the message and stack)', () => {
    const { log, text } = capture();
    const cause = Object.assign(new Error('duplicate key value violates unique constraint "recipients_phone"'), {
      detail: 'Key (phone)=(+14155550186) already exists.',
    });
    const err = new DrizzleQueryError(
      'insert into "recipients" ("phone", "display_name") values ($1, $2)',
      ['+14155550186', 'Line one\nline two'],
      cause,
    );
    log.error({ err }, 'unexpected error');
    const out = text();
    expect(out).not.toContain('14155550186');
    expect(out).not.toContain('Line one');
    expect(out).toContain('insert into \\"recipients\\"');
    expect(out).toContain('params: [2 redacted]');
    expect(out).toContain('duplicate key value');
  });
});

describe('secrets at rest', () => {
  it('stores gateway credentials sealed with HERALD_SECRET_KEY, never in clear', async () => {
    const rows = rowsOf(await herald.services.db.execute(sql`select * from gateways where name = 'branch-sms'`));
    expect(rows).toHaveLength(1);
    const text = JSON.stringify(rows[0]);
    for (const value of [tenantAccount.authToken, tenantAccount.accountSid, TENANT_FROM]) expect(text).not.toContain(value);
    expect(String(rows[0].credentials)).toMatch(new RegExp(`^v2:${fingerprint(keyBytes(OLD_KEY))}:`));
  });

  it('reads credentials sealed with the old key after a rotation (HERALD_SECRET_KEY_PREVIOUS) and seals new ones with the new key', async () => {
    await restart({ HERALD_SECRET_KEY: NEW_KEY, HERALD_SECRET_KEY_PREVIOUS: OLD_KEY });
    secret('new HERALD_SECRET_KEY', NEW_KEY);

    // A send through the gateway sealed before the rotation reaches Twilio with its account.
    const sent = ok(await herald.gql(SEND, { input: { clientId: tenant.client.id, message: 'After rotation' } }, tenant.sender)).sendSms;
    expect(sent.userErrors).toEqual([]);
    expect(await waitForStatus(sent.message.id, ['SENT', 'FAILED'], tenant.sender)).toBe('SENT');
    expect(fake.messages.filter((m) => m.account_sid === tenantAccount.accountSid && m.body === 'After rotation')).toHaveLength(1);

    // A gateway added now is sealed with the new key.
    const added = ok(
      await herald.gql(
        ADD_GATEWAY,
        {
          input: {
            channel: 'SMS',
            provider: 'TWILIO',
            name: 'rotated-sms',
            makeDefault: false,
            credentials: JSON.stringify({ accountSid: tenantAccount.accountSid, authToken: tenantAccount.authToken, from: TENANT_FROM }),
          },
        },
        tenant.adminKey,
      ),
    ).addChannelGateway;
    expect(added.userErrors).toEqual([]);
    const sealed = rowsOf(
      await herald.services.db.execute(
        sql`select id, name, credentials from gateways where name in ('branch-sms', 'rotated-sms') order by name`,
      ),
    );
    expect(sealed.map((r) => String(r.credentials).split(':')[1])).toEqual([
      fingerprint(keyBytes(OLD_KEY)),
      fingerprint(keyBytes(NEW_KEY)),
    ]);

    // Without the previous key, the old credentials cannot be opened (and say why); the new ones can.
    await restart({ HERALD_SECRET_KEY: NEW_KEY });
    const [oldRow, newRow] = sealed as { credentials: string }[];
    expect(() => herald.services.gateways.credentialsOf(oldRow as never)).toThrow(/another HERALD_SECRET_KEY/);
    expect(herald.services.gateways.credentialsOf(newRow as never)).toMatchObject({ authToken: tenantAccount.authToken });

    await restart({ HERALD_SECRET_KEY: NEW_KEY, HERALD_SECRET_KEY_PREVIOUS: `${randomBytes(32).toString('hex')}, ${OLD_KEY}` });
    expect(herald.services.gateways.credentialsOf(oldRow as never)).toMatchObject({ authToken: tenantAccount.authToken });
  }, 120_000);

  it('refuses a malformed HERALD_SECRET_KEY_PREVIOUS, or one without HERALD_SECRET_KEY, at start', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ HERALD_SECRET_KEY: NEW_KEY, HERALD_SECRET_KEY_PREVIOUS: `${OLD_KEY},short` })).toEqual([
      'HERALD_SECRET_KEY_PREVIOUS entry 2 must be 32 bytes as 64 hex characters or base64',
    ]);
    expect(problems({ HERALD_SECRET_KEY_PREVIOUS: OLD_KEY })).toEqual([
      'HERALD_SECRET_KEY_PREVIOUS needs HERALD_SECRET_KEY (the new key) set too',
    ]);
    expect(loadConfig({ HERALD_SECRET_KEY: NEW_KEY, HERALD_SECRET_KEY_PREVIOUS: OLD_KEY }).previousSecretKeys).toEqual([keyBytes(OLD_KEY)]);
  });
});

describe('unexpected errors', () => {
  /** No stack, SQL, file path or library name. */
  function expectOpaque(text: string): void {
    expect(text).not.toMatch(/\n\s+at |stack/i);
    expect(text).not.toMatch(/\b(select|insert|update|delete)\b.*\b(from|into|set)\b|Failed query|params:/i);
    expect(text).not.toMatch(/\/work\/|node_modules|file:\/\/|\.ts\b|\.js\b/);
    expect(text).not.toMatch(/drizzle|pglite|postgres|pg-boss|\bpg\b|type-graphql|apollo|fastify|graphql-js|pool/i);
  }

  it('answers a database failure with INTERNAL_SERVER_ERROR and an id only, logging the details under that id without personal data', async () => {
    const freshKey = await buildApiKey(herald, 'ADMIN'); // never used: not in the auth cache
    secret('fresh key', freshKey);
    ok(await herald.gql('{ viewer { id } }')); // the operator key is warm in the auth cache
    await herald.handle.close();

    const phone = secret('phone sent while the database was down', '+14155550196');
    const email = secret('e-mail sent while the database was down', 'down.private@example.com');
    const response = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${herald.adminKey}` },
      body: JSON.stringify({
        query: 'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } } }',
        variables: { input: { kind: 'CLIENT', displayName: 'While down', phone, email } },
      }),
    });
    const text = await response.text();
    expect([200, 500]).toContain(response.status);
    const body = JSON.parse(text) as { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors).toHaveLength(1);
    const [error] = body.errors;
    expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(error.message).toBe(`Internal error ${error.extensions.errorId as string}`);
    expectOpaque(text);
    expectNoSecretIn(text);

    // A key not in the cache fails while authenticating: the same answer, with 500.
    const cold = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${freshKey}` },
      body: JSON.stringify({ query: '{ recipients { totalCount } }' }),
    });
    const coldText = await cold.text();
    expect(cold.status).toBe(500);
    expect(JSON.parse(coldText).errors[0].extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', errorId: expect.any(String) });
    expectOpaque(coldText);

    // The log has the details under the id: the failed query, but not its values.
    const line = herald.logs.find((l) => l.includes(String(error.extensions.errorId)));
    expect(line).toBeDefined();
    expect(line).toMatch(/unexpected error/);
    expect(line).toMatch(/params: \[\d+ redacted\]/);
    expect((await fetch(`${herald.url}/readyz`)).status).toBe(503);
    expectNoSecretIn(allLogs());
  });
});
