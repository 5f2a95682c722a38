import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Channel } from '../src/graphql/enums.js';
import { fromGlobalId } from '../src/lib/ids.js';
import { DEFAULT_TENANT_ID } from '../src/modules/tenants/tenants.service.js';
import { buildApiKey, buildRecipient, buildTenant, TWILIO_CREDENTIALS } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald();
});
afterAll(() => herald?.stop());

const GATEWAY_FIELDS = 'id name channel provider enabled isDefault createdAt';
const CHANNELS = `{ channels { channel gateways { ${GATEWAY_FIELDS} } } }`;
const GATEWAYS = `query($channel: Channel) { gateways(channel: $channel) { ${GATEWAY_FIELDS} } }`;
const ADD = `mutation($input: AddChannelGatewayInput!) {
  addChannelGateway(input: $input) { gateway { ${GATEWAY_FIELDS} } userErrors { field message code } }
}`;
const SUBSCRIPTION_FIELDS = 'subscriptions { channel gateway { id name provider } }';
const SUBSCRIBE = `mutation($input: SubscribeInput!) {
  subscribe(input: $input) { recipient { id ${SUBSCRIPTION_FIELDS} } userErrors { field message code } }
}`;
const UNSUBSCRIBE = `mutation($input: UnsubscribeInput!) {
  unsubscribe(input: $input) { recipient { id ${SUBSCRIPTION_FIELDS} } userErrors { field message code } }
}`;

interface GatewayView {
  id: string;
  name: string;
  channel: string;
  provider: string;
  enabled: boolean;
  isDefault: boolean;
  createdAt: string;
}

const twilio = (overrides: Record<string, unknown> = {}) => JSON.stringify({ ...TWILIO_CREDENTIALS, ...overrides });
const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

async function gatewaysOf(h: TestHerald, channel?: string, key?: string): Promise<GatewayView[]> {
  return ok(await h.gql(GATEWAYS, { channel }, key)).gateways;
}

async function defaultOf(h: TestHerald, channel: string, key?: string): Promise<GatewayView> {
  const defaults = (await gatewaysOf(h, channel, key)).filter((g) => g.isDefault);
  expect(defaults).toHaveLength(1);
  return defaults[0];
}

async function addGateway(input: Record<string, unknown>, key?: string) {
  return ok(await herald.gql(ADD, { input }, key)).addChannelGateway as {
    gateway: GatewayView | null;
    userErrors: { field: string[]; message: string; code: string }[];
  };
}

async function addedGateway(input: Record<string, unknown>, key?: string): Promise<GatewayView> {
  const payload = await addGateway(input, key);
  expect(payload.userErrors).toEqual([]);
  return payload.gateway!;
}

/** Each channel has exactly one default, and it is enabled. */
async function expectOneDefaultPerChannel(h: TestHerald) {
  const { channels } = ok(await h.gql(CHANNELS));
  for (const info of channels) {
    const defaults = info.gateways.filter((g: GatewayView) => g.isDefault);
    expect(defaults, `${info.channel} defaults`).toHaveLength(1);
    expect(defaults[0].enabled).toBe(true);
  }
}

describe('channels and gateways queries', () => {
  it('lists the four channels in order, each starting with an enabled SANDBOX default', async () => {
    const { channels } = ok(await herald.gql(CHANNELS));
    expect(channels.map((c: { channel: string }) => c.channel)).toEqual(['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM']);
    for (const info of channels) {
      expect(info.gateways).toEqual([
        {
          id: expect.stringMatching(/^gw_[0-9a-f]{32}$/),
          name: 'sandbox',
          channel: info.channel,
          provider: 'SANDBOX',
          enabled: true,
          isDefault: true,
          createdAt: expect.any(String),
        },
      ]);
    }
    const ids = channels.map((c: { gateways: GatewayView[] }) => c.gateways[0].id);
    expect(new Set(ids).size).toBe(4);
  });

  it('gateways(channel:) lists only that channel, gateways without one lists all', async () => {
    const sms = await gatewaysOf(herald, 'SMS');
    expect(sms.length).toBeGreaterThan(0);
    expect(sms.every((g) => g.channel === 'SMS')).toBe(true);
    const all = await gatewaysOf(herald);
    expect(new Set(all.map((g) => g.channel))).toEqual(new Set(['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM']));
    expect(all.filter((g) => g.channel === 'SMS')).toEqual(sms);
  });

  it('a gateway is a Node', async () => {
    const [sandbox] = await gatewaysOf(herald, 'EMAIL');
    const { node } = ok(
      await herald.gql(`query($id: ID!) { node(id: $id) { id ... on Gateway { name channel provider } } }`, { id: sandbox.id }),
    );
    expect(node).toEqual({ id: sandbox.id, name: 'sandbox', channel: 'EMAIL', provider: 'SANDBOX' });
  });
});

describe('addChannelGateway', () => {
  it('adds a Twilio SMS gateway that takes over from the SANDBOX placeholder as default', async () => {
    const sandbox = await defaultOf(herald, 'SMS');
    expect(sandbox.provider).toBe('SANDBOX');

    const gateway = await addedGateway({ channel: 'SMS', provider: 'TWILIO', name: 'twilio-main', credentials: twilio() });
    expect(gateway).toEqual({
      id: expect.stringMatching(/^gw_[0-9a-f]{32}$/),
      name: 'twilio-main',
      channel: 'SMS',
      provider: 'TWILIO',
      enabled: true,
      isDefault: true,
      createdAt: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(gateway.createdAt))).toBe(false);

    const sms = await gatewaysOf(herald, 'SMS');
    expect(sms.map((g) => [g.name, g.isDefault])).toEqual([
      ['sandbox', false],
      ['twilio-main', true],
    ]);
    // The SANDBOX stays usable, it is just no longer the default.
    expect(sms[0]).toMatchObject({ id: sandbox.id, enabled: true });
    // The other channels did not move.
    for (const channel of ['EMAIL', 'WHATSAPP', 'TWITTER_DM']) expect((await defaultOf(herald, channel)).provider).toBe('SANDBOX');
    await expectOneDefaultPerChannel(herald);
  });

  it('makeDefault: true moves the default, makeDefault: false leaves it where it was', async () => {
    const before = await defaultOf(herald, 'SMS');
    const backup = await addedGateway({
      channel: 'SMS',
      provider: 'TWILIO',
      name: 'twilio-backup',
      credentials: twilio(),
      makeDefault: true,
    });
    expect(backup.isDefault).toBe(true);
    expect((await defaultOf(herald, 'SMS')).id).toBe(backup.id);
    expect((await gatewaysOf(herald, 'SMS')).find((g) => g.id === before.id)?.isDefault).toBe(false);

    const spare = await addedGateway({
      channel: 'SMS',
      provider: 'TWILIO',
      name: 'twilio-spare',
      credentials: twilio(),
      makeDefault: false,
    });
    expect(spare).toMatchObject({ enabled: true, isDefault: false });
    expect((await defaultOf(herald, 'SMS')).id).toBe(backup.id);

    // Without makeDefault, a channel whose default is a real gateway keeps it.
    const third = await addedGateway({ channel: 'SMS', provider: 'TWILIO', name: 'twilio-third', credentials: twilio() });
    expect(third.isDefault).toBe(false);
    expect((await defaultOf(herald, 'SMS')).id).toBe(backup.id);
    await expectOneDefaultPerChannel(herald);
  });

  it('a disabled gateway is added but never becomes the default', async () => {
    const before = await defaultOf(herald, 'WHATSAPP');
    const off = await addedGateway({
      channel: 'WHATSAPP',
      provider: 'TWILIO',
      name: 'wa-off',
      credentials: twilio({ from: 'whatsapp:+15005550006' }),
      enabled: false,
    });
    expect(off).toMatchObject({ channel: 'WHATSAPP', provider: 'TWILIO', enabled: false, isDefault: false });
    expect((await defaultOf(herald, 'WHATSAPP')).id).toBe(before.id);
  });

  it('refuses a duplicate name on the same channel, but allows it on another channel', async () => {
    const before = (await gatewaysOf(herald)).length;
    const duplicate = await addGateway({ channel: 'SMS', provider: 'TWILIO', name: 'twilio-main', credentials: twilio() });
    expect(duplicate).toEqual({
      gateway: null,
      userErrors: [{ field: ['input', 'name'], message: expect.stringMatching(/twilio-main/), code: 'INVALID_INPUT' }],
    });
    // Surrounding spaces do not make a different name.
    const padded = await addGateway({ channel: 'SMS', provider: 'TWILIO', name: '  twilio-main ', credentials: twilio() });
    expect(padded.userErrors).toEqual([{ field: ['input', 'name'], message: expect.any(String), code: 'INVALID_INPUT' }]);
    expect((await gatewaysOf(herald)).length).toBe(before);

    const whatsapp = await addedGateway({ channel: 'WHATSAPP', provider: 'TWILIO', name: 'twilio-main', credentials: twilio() });
    expect(whatsapp).toMatchObject({ channel: 'WHATSAPP', name: 'twilio-main' });
    expect((await gatewaysOf(herald)).length).toBe(before + 1);
  });

  it('refuses makeDefault with enabled: false', async () => {
    const before = await gatewaysOf(herald, 'SMS');
    const result = await addGateway({
      channel: 'SMS',
      provider: 'TWILIO',
      name: uniqueName('off-default'),
      credentials: twilio(),
      makeDefault: true,
      enabled: false,
    });
    expect(result.gateway).toBeNull();
    expect(result.userErrors).toEqual([{ field: ['input', 'makeDefault'], message: expect.any(String), code: 'INVALID_INPUT' }]);
    expect(await gatewaysOf(herald, 'SMS')).toEqual(before);
  });

  it('refuses an empty name', async () => {
    const result = await addGateway({ channel: 'SMS', provider: 'TWILIO', name: '   ', credentials: twilio() });
    expect(result).toEqual({
      gateway: null,
      userErrors: [{ field: ['input', 'name'], message: expect.any(String), code: 'INVALID_INPUT' }],
    });
  });

  it('refuses a name over 100 characters', async () => {
    const result = await addGateway({ channel: 'SMS', provider: 'TWILIO', name: 'n'.repeat(101), credentials: twilio() });
    expect(result).toEqual({
      gateway: null,
      userErrors: [{ field: ['input', 'name'], message: expect.stringMatching(/100/), code: 'INVALID_INPUT' }],
    });
  });

  it('concurrent additions leave exactly one default and one gateway per name', async () => {
    const before = (await gatewaysOf(herald, 'WHATSAPP')).length;
    const names = [uniqueName('race'), uniqueName('race'), uniqueName('race')];
    const results = await Promise.all(
      [...names, names[0]].map((name) =>
        addGateway({ channel: 'WHATSAPP', provider: 'TWILIO', name, credentials: twilio(), makeDefault: true }),
      ),
    );
    const added = results.filter((r) => r.gateway);
    const refused = results.filter((r) => !r.gateway);
    expect(added).toHaveLength(3);
    expect(refused).toEqual([
      { gateway: null, userErrors: [{ field: ['input', 'name'], message: expect.any(String), code: 'INVALID_INPUT' }] },
    ]);
    const whatsapp = await gatewaysOf(herald, 'WHATSAPP');
    expect(whatsapp).toHaveLength(before + 3);
    const defaults = whatsapp.filter((g) => g.isDefault);
    expect(defaults).toHaveLength(1);
    expect(added.map((r) => r.gateway!.id)).toContain(defaults[0].id);
    await expectOneDefaultPerChannel(herald);
  });

  it('needs an ADMIN key: a SENDER key is FORBIDDEN and adds nothing', async () => {
    const sender = await buildApiKey(herald, 'SENDER');
    const before = (await gatewaysOf(herald)).length;
    const result = await herald.gql(
      ADD,
      { input: { channel: 'SMS', provider: 'TWILIO', name: uniqueName('sender'), credentials: twilio() } },
      sender,
    );
    expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(result)).not.toContain(TWILIO_CREDENTIALS.authToken);
    expect((await gatewaysOf(herald)).length).toBe(before);
  });
});

describe('gateway credentials', () => {
  const SENDGRID_KEY = `SG.${randomBytes(12).toString('hex')}`;
  const TWITTER = {
    appKey: 'app-key-1',
    appSecret: `app-secret-${randomBytes(6).toString('hex')}`,
    accessToken: 'access-token-1',
    accessSecret: `access-secret-${randomBytes(6).toString('hex')}`,
  };
  const { accessSecret: _dropped, ...twitterWithoutSecret } = TWITTER;

  it.each([
    ['not JSON', 'SMS', 'TWILIO', `accountSid=${TWILIO_CREDENTIALS.accountSid}&authToken=${TWILIO_CREDENTIALS.authToken}`, /JSON object/],
    [
      'a JSON array',
      'SMS',
      'TWILIO',
      JSON.stringify([TWILIO_CREDENTIALS.accountSid, TWILIO_CREDENTIALS.authToken, TWILIO_CREDENTIALS.from]),
      /JSON object/,
    ],
    ['a JSON string', 'SMS', 'TWILIO', JSON.stringify(TWILIO_CREDENTIALS.authToken), /JSON object/],
    ['none at all', 'SMS', 'TWILIO', null, /required/],
    [
      'a missing authToken',
      'SMS',
      'TWILIO',
      JSON.stringify({ accountSid: TWILIO_CREDENTIALS.accountSid, from: TWILIO_CREDENTIALS.from }),
      /authToken/,
    ],
    ['an empty authToken', 'SMS', 'TWILIO', twilio({ authToken: '  ' }), /authToken/],
    ['a bad accountSid', 'SMS', 'TWILIO', twilio({ accountSid: 'AC123' }), /accountSid/],
    ['an unknown field', 'SMS', 'TWILIO', twilio({ region: 'us1' }), /region/],
    ['a from that is not a phone number', 'SMS', 'TWILIO', twilio({ from: 'Herald' }), /from/],
    ['a from without country code', 'SMS', 'TWILIO', twilio({ from: '5005550006' }), /from/],
    ['a from that is too short', 'WHATSAPP', 'TWILIO', twilio({ from: '+1 555' }), /from/],
    [
      'a SendGrid from that is not an e-mail',
      'EMAIL',
      'SENDGRID',
      JSON.stringify({ apiKey: SENDGRID_KEY, from: 'herald at example.com' }),
      /from/,
    ],
    ['a SendGrid set without apiKey', 'EMAIL', 'SENDGRID', JSON.stringify({ from: 'herald@example.com' }), /apiKey/],
    ['Twitter without accessSecret', 'TWITTER_DM', 'TWITTER', JSON.stringify(twitterWithoutSecret), /accessSecret/],
    ['SANDBOX given credentials', 'SMS', 'SANDBOX', twilio(), /SANDBOX/],
    ['credentials over 4096 characters', 'SMS', 'TWILIO', twilio({ from: `+15005550006${' '.repeat(4100)}` }), /4096/],
  ])(
    'refuses %s with INVALID_INPUT on credentials, stores nothing, and never echoes a secret',
    async (_case, channel, provider, credentials, message) => {
      const before = await gatewaysOf(herald);
      const logsBefore = herald.logs.length;
      const result = await herald.gql(ADD, { input: { channel, provider, name: uniqueName('bad-creds'), credentials } });
      expect(result.status).toBe(200);
      expect(result.data.addChannelGateway).toEqual({
        gateway: null,
        userErrors: [{ field: ['input', 'credentials'], message: expect.stringMatching(message), code: 'INVALID_INPUT' }],
      });
      const response = JSON.stringify(result);
      const logged = herald.logs.slice(logsBefore).join('\n');
      for (const secret of [TWILIO_CREDENTIALS.authToken, SENDGRID_KEY, TWITTER.appSecret]) {
        expect(response).not.toContain(secret);
        expect(logged).not.toContain(secret);
      }
      expect(await gatewaysOf(herald)).toEqual(before);
    },
  );

  it('refuses a provider that cannot carry the channel with INVALID_INPUT on provider', async () => {
    const before = await gatewaysOf(herald);
    for (const [channel, provider, credentials] of [
      ['SMS', 'SENDGRID', JSON.stringify({ apiKey: SENDGRID_KEY, from: 'herald@example.com' })],
      ['EMAIL', 'TWILIO', twilio()],
      ['TWITTER_DM', 'TWILIO', twilio()],
      ['WHATSAPP', 'TWITTER', JSON.stringify(TWITTER)],
    ]) {
      const result = ok(await herald.gql(ADD, { input: { channel, provider, name: uniqueName('wrong-provider'), credentials } }));
      expect(result.addChannelGateway).toEqual({
        gateway: null,
        userErrors: [{ field: ['input', 'provider'], message: expect.stringContaining(channel), code: 'INVALID_INPUT' }],
      });
      expect(JSON.stringify(result)).not.toContain(SENDGRID_KEY);
      expect(JSON.stringify(result)).not.toContain(TWILIO_CREDENTIALS.authToken);
    }
    expect(await gatewaysOf(herald)).toEqual(before);
  });

  it('refuses credentials sent as an object instead of a JSON string without echoing the secret', async () => {
    const before = await gatewaysOf(herald);
    const logsBefore = herald.logs.length;
    const result = await herald.gql(ADD, {
      input: { channel: 'SMS', provider: 'TWILIO', name: uniqueName('object-creds'), credentials: TWILIO_CREDENTIALS },
    });
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    // The message still says where and what is wrong.
    expect(result.errors?.[0].message).toMatch(/"input\.credentials".*String/);
    expect(JSON.stringify(result)).not.toContain(TWILIO_CREDENTIALS.authToken);
    expect(herald.logs.slice(logsBefore).join('\n')).not.toContain(TWILIO_CREDENTIALS.authToken);

    // A secret pasted into the wrong field is not echoed either.
    const misplaced = await herald.gql(ADD, {
      input: { channel: 'SMS', provider: TWILIO_CREDENTIALS.authToken, name: uniqueName('misplaced'), credentials: twilio() },
    });
    expect(misplaced.status).toBe(400);
    expect(misplaced.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(misplaced.errors?.[0].message).toMatch(/"input\.provider".*Provider/);
    expect(JSON.stringify(misplaced)).not.toContain(TWILIO_CREDENTIALS.authToken);
    expect(await gatewaysOf(herald)).toEqual(before);
  });

  it('accepts valid SendGrid, Twitter and SANDBOX gateways', async () => {
    const email = await addedGateway({
      channel: 'EMAIL',
      provider: 'SENDGRID',
      name: 'sendgrid',
      credentials: JSON.stringify({ apiKey: SENDGRID_KEY, from: 'herald@example.com' }),
    });
    expect(email).toMatchObject({ channel: 'EMAIL', provider: 'SENDGRID', enabled: true, isDefault: true });
    const dm = await addedGateway({
      channel: 'TWITTER_DM',
      provider: 'TWITTER',
      name: 'x',
      credentials: JSON.stringify(TWITTER),
      makeDefault: false,
    });
    expect(dm).toMatchObject({ channel: 'TWITTER_DM', provider: 'TWITTER', isDefault: false });
    const sandbox = await addedGateway({ channel: 'TWITTER_DM', provider: 'SANDBOX', name: 'second-sandbox' });
    expect(sandbox).toMatchObject({ provider: 'SANDBOX', isDefault: false });
    const emptyCredentials = await addedGateway({ channel: 'TWITTER_DM', provider: 'SANDBOX', name: 'third-sandbox', credentials: '{}' });
    expect(emptyCredentials).toMatchObject({ provider: 'SANDBOX', isDefault: false });
    expect((await defaultOf(herald, 'TWITTER_DM')).name).toBe('sandbox');
    await expectOneDefaultPerChannel(herald);
  });

  it('stores credentials encrypted (AES-256-GCM) and never shows or logs them, yet the server can read them back', async () => {
    const secretToken = `tok_${randomBytes(16).toString('hex')}`;
    const secretSid = `AC${randomBytes(16).toString('hex')}`;
    const logsBefore = herald.logs.length;
    const result = await herald.gql(ADD, {
      input: {
        channel: 'WHATSAPP',
        provider: 'TWILIO',
        name: 'wa-secret',
        credentials: JSON.stringify({ accountSid: secretSid, authToken: secretToken, from: 'whatsapp:+1 500 555 0006' }),
      },
    });
    expect(result.data.addChannelGateway.userErrors).toEqual([]);
    const gateway: GatewayView = result.data.addChannelGateway.gateway;
    expect(JSON.stringify(result)).not.toContain(secretToken);
    expect(JSON.stringify(result)).not.toContain(secretSid);
    // No field of the API hands the credentials back.
    const listed = await herald.gql(`{ channels { gateways { id name } } gateways { id name channel provider } }`);
    expect(JSON.stringify(listed)).not.toContain(secretToken);
    const logged = herald.logs.slice(logsBefore).join('\n');
    expect(logged).toContain('gateway added');
    expect(logged).not.toContain(secretToken);
    expect(logged).not.toContain(secretSid);

    const raw = await herald.services.db.execute(sql`select credentials from gateways where credentials is not null`);
    const stored = (raw as { rows: { credentials: string }[] }).rows.map((r) => r.credentials);
    expect(stored.length).toBeGreaterThan(0);
    const dump = stored.join('\n');
    for (const plain of [
      secretToken,
      secretSid,
      TWILIO_CREDENTIALS.authToken,
      TWILIO_CREDENTIALS.accountSid,
      Buffer.from(secretToken).toString('base64'),
    ]) {
      expect(dump).not.toContain(plain);
    }
    // Each value is its own envelope: the same credentials sealed twice differ (fresh IV).
    expect(new Set(stored).size).toBe(stored.length);

    const uuid = fromGlobalId(gateway.id, 'Gateway')!.uuid;
    const row = (await herald.services.gateways.list(DEFAULT_TENANT_ID, Channel.WHATSAPP)).find((r) => r.id === uuid)!;
    expect(row.credentials).toMatch(/^v2:[0-9a-f]{12}:/);
    expect(herald.services.gateways.credentialsOf(row)).toEqual({ accountSid: secretSid, authToken: secretToken, from: '+15005550006' });

    // Tampering with the ciphertext is detected (GCM authentication), not decrypted to garbage.
    const parts = row.credentials!.split(':');
    const body = Buffer.from(parts[4], 'base64');
    body[0] ^= 0xff;
    parts[4] = body.toString('base64');
    expect(() => herald.services.gateways.credentialsOf({ ...row, credentials: parts.join(':') })).toThrow();
  });
});

describe('environment gateways', () => {
  const secretKey = randomBytes(32).toString('hex');
  const ENV = {
    HERALD_SECRET_KEY: secretKey,
    TWILIO_ACCOUNT_SID: `AC${randomBytes(16).toString('hex')}`,
    TWILIO_AUTH_TOKEN: `envtok_${randomBytes(12).toString('hex')}`,
    TWILIO_SMS_FROM: '+15005550006',
    SENDGRID_API_KEY: `SG.env_${randomBytes(12).toString('hex')}`,
    SENDGRID_FROM_EMAIL: 'alerts@example.com',
  };
  let envHerald: TestHerald;
  beforeAll(async () => {
    envHerald = await startTestHerald({ env: ENV });
  });
  afterAll(() => envHerald?.stop());

  it('makes the environment gateways the SMS and EMAIL defaults, leaving WHATSAPP and TWITTER_DM on SANDBOX', async () => {
    const { channels } = ok(await envHerald.gql(CHANNELS));
    const defaults = Object.fromEntries(
      channels.map((c: { channel: string; gateways: GatewayView[] }) => [c.channel, c.gateways.filter((g) => g.isDefault)]),
    );
    expect(defaults.SMS).toEqual([expect.objectContaining({ provider: 'TWILIO', channel: 'SMS', enabled: true })]);
    expect(defaults.EMAIL).toEqual([expect.objectContaining({ provider: 'SENDGRID', channel: 'EMAIL', enabled: true })]);
    expect(defaults.WHATSAPP).toEqual([expect.objectContaining({ provider: 'SANDBOX', name: 'sandbox' })]);
    expect(defaults.TWITTER_DM).toEqual([expect.objectContaining({ provider: 'SANDBOX', name: 'sandbox' })]);
    // The SANDBOX of SMS and EMAIL is still there, just not the default.
    for (const channel of ['SMS', 'EMAIL']) {
      const info = channels.find((c: { channel: string }) => c.channel === channel);
      expect(info.gateways.find((g: GatewayView) => g.provider === 'SANDBOX')).toMatchObject({ name: 'sandbox', isDefault: false });
    }
    await expectOneDefaultPerChannel(envHerald);

    const response = JSON.stringify(await envHerald.gql(CHANNELS));
    const logs = envHerald.logs.join('\n');
    for (const secret of [ENV.TWILIO_AUTH_TOKEN, ENV.SENDGRID_API_KEY]) {
      expect(response).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    const rows = await envHerald.services.gateways.list(DEFAULT_TENANT_ID);
    const sms = rows.find((r) => r.channel === 'SMS' && r.provider === 'TWILIO')!;
    expect(sms.credentials).not.toContain(ENV.TWILIO_AUTH_TOKEN);
    expect(envHerald.services.gateways.credentialsOf(sms)).toEqual({
      accountSid: ENV.TWILIO_ACCOUNT_SID,
      authToken: ENV.TWILIO_AUTH_TOKEN,
      from: ENV.TWILIO_SMS_FROM,
    });
  });

  it('steps back to SANDBOX when the variables are removed, keeping the environment gateway listed but disabled', async () => {
    const envSms = await defaultOf(envHerald, 'SMS');
    const envEmail = await defaultOf(envHerald, 'EMAIL');
    // A subscription made while the environment gateway was the default keeps naming it.
    const recipient = await buildRecipient(envHerald, { phone: '+14155550142' });
    ok(await envHerald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }));

    envHerald = await envHerald.restart({ HERALD_SECRET_KEY: secretKey });
    const sms = await gatewaysOf(envHerald, 'SMS');
    expect((await defaultOf(envHerald, 'SMS')).provider).toBe('SANDBOX');
    expect(sms.find((g) => g.id === envSms.id)).toMatchObject({ provider: 'TWILIO', enabled: false, isDefault: false });
    expect((await defaultOf(envHerald, 'EMAIL')).provider).toBe('SANDBOX');
    expect((await gatewaysOf(envHerald, 'EMAIL')).find((g) => g.id === envEmail.id)).toMatchObject({
      provider: 'SENDGRID',
      enabled: false,
      isDefault: false,
    });
    await expectOneDefaultPerChannel(envHerald);

    const fetched = ok(await envHerald.gql(`query($id: ID!) { recipient(id: $id) { ${SUBSCRIPTION_FIELDS} } }`, { id: recipient.id }));
    expect(fetched.recipient.subscriptions).toEqual([
      { channel: 'SMS', gateway: { id: envSms.id, name: envSms.name, provider: 'TWILIO' } },
    ]);
    // The disabled gateway cannot be chosen for a new subscription.
    const refused = ok(await envHerald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS', gatewayId: envSms.id } }));
    expect(refused.subscribe.userErrors).toEqual([{ field: ['input', 'gatewayId'], message: expect.any(String), code: 'INVALID_INPUT' }]);
  });

  it('takes the same gateway back as default when the variables return', async () => {
    const before = await gatewaysOf(envHerald, 'SMS');
    envHerald = await envHerald.restart(ENV);
    const after = await gatewaysOf(envHerald, 'SMS');
    expect(after.map((g) => g.id)).toEqual(before.map((g) => g.id));
    const envGateway = await defaultOf(envHerald, 'SMS');
    expect(envGateway).toMatchObject({ provider: 'TWILIO', enabled: true });
    expect(before.find((g) => g.id === envGateway.id)).toMatchObject({ enabled: false });
    expect((await defaultOf(envHerald, 'EMAIL')).provider).toBe('SENDGRID');
    await expectOneDefaultPerChannel(envHerald);
  });
});

describe('environment gateways next to API-made ones', () => {
  it('keeps "env:" names for environment gateways, so setting the variables later still starts', async () => {
    const secretKey = randomBytes(32).toString('hex');
    let own = await startTestHerald({ env: { HERALD_SECRET_KEY: secretKey } });
    try {
      for (const name of ['env:twilio-sms', '  env:anything']) {
        const refused = ok(
          await own.gql(ADD, { input: { channel: 'SMS', provider: 'TWILIO', name, credentials: twilio() } }),
        ).addChannelGateway;
        expect(refused).toEqual({
          gateway: null,
          userErrors: [{ field: ['input', 'name'], message: expect.stringMatching(/env:/), code: 'INVALID_INPUT' }],
        });
      }
      const mine = ok(await own.gql(ADD, { input: { channel: 'SMS', provider: 'TWILIO', name: 'twilio-sms', credentials: twilio() } }))
        .addChannelGateway.gateway as GatewayView;
      expect(mine.isDefault).toBe(true);

      own = await own.restart({
        HERALD_SECRET_KEY: secretKey,
        TWILIO_ACCOUNT_SID: `AC${'ab'.repeat(16)}`,
        TWILIO_AUTH_TOKEN: 'env-token-2',
        TWILIO_SMS_FROM: '+15005550006',
      });
      const envDefault = await defaultOf(own, 'SMS');
      expect(envDefault).toMatchObject({ provider: 'TWILIO', name: expect.stringMatching(/^env:/) });
      expect((await gatewaysOf(own, 'SMS')).map((g) => g.name).sort()).toEqual([envDefault.name, 'sandbox', 'twilio-sms'].sort());
      const rows = await own.services.gateways.list(DEFAULT_TENANT_ID, Channel.SMS);
      const row = (id: string) => rows.find((r) => r.id === fromGlobalId(id, 'Gateway')!.uuid)!;
      expect(own.services.gateways.credentialsOf(row(envDefault.id))).toMatchObject({ authToken: 'env-token-2' });
      expect(own.services.gateways.credentialsOf(row(mine.id))).toMatchObject({ authToken: TWILIO_CREDENTIALS.authToken });
      await expectOneDefaultPerChannel(own);
    } finally {
      await own.stop();
    }
  });
});

describe('subscribe and unsubscribe', () => {
  it('without gatewayId uses the channel default, shown on Recipient.subscriptions', async () => {
    const recipient = await buildRecipient(herald, { phone: '+14155550150', email: 'sub@example.com' });
    const smsDefault = await defaultOf(herald, 'SMS');
    const result = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }));
    expect(result.subscribe).toEqual({
      recipient: {
        id: recipient.id,
        subscriptions: [{ channel: 'SMS', gateway: { id: smsDefault.id, name: smsDefault.name, provider: smsDefault.provider } }],
      },
      userErrors: [],
    });
    const fetched = ok(
      await herald.gql(`query($id: ID!) { recipient(id: $id) { subscriptions { channel createdAt gateway { id name provider } } } }`, {
        id: recipient.id,
      }),
    );
    expect(fetched.recipient.subscriptions).toEqual([
      {
        channel: 'SMS',
        createdAt: expect.any(String),
        gateway: { id: smsDefault.id, name: smsDefault.name, provider: smsDefault.provider },
      },
    ]);
  });

  it('uses a named gateway of the channel; subscribing again moves the one subscription', async () => {
    const recipient = await buildRecipient(herald, { phone: '+14155550151' });
    const sms = await gatewaysOf(herald, 'SMS');
    const named = sms.find((g) => !g.isDefault && g.enabled)!;
    const other = sms.find((g) => g.isDefault)!;

    const first = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS', gatewayId: named.id } }));
    expect(first.subscribe.recipient.subscriptions).toEqual([
      { channel: 'SMS', gateway: { id: named.id, name: named.name, provider: named.provider } },
    ]);

    const moved = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS', gatewayId: other.id } }));
    expect(moved.subscribe.recipient.subscriptions).toEqual([
      { channel: 'SMS', gateway: { id: other.id, name: other.name, provider: other.provider } },
    ]);

    // A second channel is a second subscription; the SMS one stays.
    const email = await defaultOf(herald, 'EMAIL');
    const both = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'EMAIL' } }));
    expect(both.subscribe.recipient.subscriptions).toEqual([
      { channel: 'SMS', gateway: { id: other.id, name: other.name, provider: other.provider } },
      { channel: 'EMAIL', gateway: { id: email.id, name: email.name, provider: email.provider } },
    ]);
  });

  it('refuses a gateway of another channel with INVALID_INPUT, and an unknown one with NOT_FOUND', async () => {
    const recipient = await buildRecipient(herald, { phone: '+14155550152' });
    const emailGateway = await defaultOf(herald, 'EMAIL');
    const wrongChannel = ok(
      await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS', gatewayId: emailGateway.id } }),
    );
    expect(wrongChannel.subscribe).toEqual({
      recipient: null,
      userErrors: [{ field: ['input', 'gatewayId'], message: expect.stringMatching(/EMAIL/), code: 'INVALID_INPUT' }],
    });

    for (const gatewayId of ['gw_0000000000007000800000000000dead', 'garbage', recipient.id]) {
      const unknown = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS', gatewayId } }));
      expect(unknown.subscribe).toEqual({
        recipient: null,
        userErrors: [{ field: ['input', 'gatewayId'], message: expect.any(String), code: 'NOT_FOUND' }],
      });
    }

    const disabled = (await gatewaysOf(herald, 'WHATSAPP')).find((g) => !g.enabled)!;
    const off = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'WHATSAPP', gatewayId: disabled.id } }));
    expect(off.subscribe.userErrors).toEqual([
      { field: ['input', 'gatewayId'], message: expect.stringMatching(/disabled/), code: 'INVALID_INPUT' },
    ]);

    const fetched = ok(await herald.gql(`query($id: ID!) { recipient(id: $id) { subscriptions { channel } } }`, { id: recipient.id }));
    expect(fetched.recipient.subscriptions).toEqual([]);
  });

  it('refuses an unknown recipient with NOT_FOUND on recipientId', async () => {
    for (const recipientId of ['rcp_0000000000007000800000000000dead', 'nope']) {
      for (const mutation of [SUBSCRIBE, UNSUBSCRIBE]) {
        const result = ok(await herald.gql(mutation, { input: { recipientId, channel: 'SMS' } }));
        const payload = Object.values(result)[0];
        expect(payload).toEqual({
          recipient: null,
          userErrors: [{ field: ['input', 'recipientId'], message: expect.any(String), code: 'NOT_FOUND' }],
        });
      }
    }
  });

  it('another tenant sees neither the recipient nor the gateways', async () => {
    const { adminKey } = await buildTenant(herald);
    const theirs = await gatewaysOf(herald, undefined, adminKey);
    expect(theirs.map((g) => [g.channel, g.provider, g.isDefault])).toEqual([
      ['SMS', 'SANDBOX', true],
      ['EMAIL', 'SANDBOX', true],
      ['WHATSAPP', 'SANDBOX', true],
      ['TWITTER_DM', 'SANDBOX', true],
    ]);
    const ours = await gatewaysOf(herald);
    expect(theirs.some((g) => ours.some((o) => o.id === g.id))).toBe(false);

    const recipient = await buildRecipient(herald, { phone: '+14155550153' });
    const smsOfTheirs = theirs.find((g) => g.channel === 'SMS')!;
    const crossGateway = ok(
      await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS', gatewayId: smsOfTheirs.id } }),
    );
    expect(crossGateway.subscribe.userErrors).toEqual([{ field: ['input', 'gatewayId'], message: expect.any(String), code: 'NOT_FOUND' }]);
    const crossRecipient = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }, adminKey));
    expect(crossRecipient.subscribe.userErrors).toEqual([
      { field: ['input', 'recipientId'], message: expect.any(String), code: 'NOT_FOUND' },
    ]);
  });

  it('unsubscribe removes the channel; again says NOT_SUBSCRIBED', async () => {
    const recipient = await buildRecipient(herald, { phone: '+14155550154', email: 'unsub@example.com' });
    ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }));
    ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'EMAIL' } }));

    const removed = ok(await herald.gql(UNSUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }));
    expect(removed.unsubscribe.userErrors).toEqual([]);
    expect(removed.unsubscribe.recipient.subscriptions.map((s: { channel: string }) => s.channel)).toEqual(['EMAIL']);

    const again = ok(await herald.gql(UNSUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }));
    expect(again.unsubscribe).toEqual({
      recipient: null,
      userErrors: [{ field: ['input', 'channel'], message: expect.any(String), code: 'NOT_SUBSCRIBED' }],
    });

    const never = ok(await herald.gql(UNSUBSCRIBE, { input: { recipientId: recipient.id, channel: 'TWITTER_DM' } }));
    expect(never.unsubscribe.userErrors).toEqual([{ field: ['input', 'channel'], message: expect.any(String), code: 'NOT_SUBSCRIBED' }]);

    const fetched = ok(await herald.gql(`query($id: ID!) { recipient(id: $id) { subscriptions { channel } } }`, { id: recipient.id }));
    expect(fetched.recipient.subscriptions).toEqual([{ channel: 'EMAIL' }]);
  });

  it('a READER key may not subscribe', async () => {
    const reader = await buildApiKey(herald, 'READER');
    const recipient = await buildRecipient(herald);
    const result = await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }, reader);
    expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('batching', () => {
  it('a page of recipients with their subscriptions and gateways costs the same number of queries for 3 as for 25', async () => {
    const smallRef = uniqueName('batch-small');
    const largeRef = uniqueName('batch-large');
    const sms = (await gatewaysOf(herald, 'SMS')).filter((g) => g.enabled);
    for (const [ref, size] of [
      [smallRef, 3],
      [largeRef, 25],
    ] as const) {
      for (let i = 0; i < size; i++) {
        const recipient = await buildRecipient(herald, { externalRef: ref, phone: '+14155550160', email: `batch${i}@example.com` });
        // Spread the subscriptions over several gateways so the page names several.
        ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS', gatewayId: sms[i % sms.length].id } }));
        ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'EMAIL' } }));
      }
    }

    const PAGE = `query($ref: String) { recipients(first: 25, filter: { externalRef: $ref }) {
      totalCount edges { node { id subscriptions { channel gateway { name } } } } } }`;
    // A fresh key, warmed once, so neither measured request pays for an authentication lookup.
    const key = await buildApiKey(herald, 'READER');
    ok(await herald.gql('{ viewer { id } }', undefined, key));

    const selects = vi.spyOn(herald.services.db, 'select');
    try {
      const measure = async (ref: string) => {
        selects.mockClear();
        const page = ok(await herald.gql(PAGE, { ref }, key)).recipients;
        return { page, queries: selects.mock.calls.length };
      };
      const small = await measure(smallRef);
      const large = await measure(largeRef);

      expect(small.page.totalCount).toBe(3);
      expect(large.page.totalCount).toBe(25);
      expect(large.page.edges).toHaveLength(25);
      for (const { node } of [...small.page.edges, ...large.page.edges]) {
        expect(node.subscriptions.map((s: { channel: string }) => s.channel)).toEqual(['SMS', 'EMAIL']);
        expect(node.subscriptions.every((s: { gateway: { name: string } }) => typeof s.gateway.name === 'string')).toBe(true);
      }
      expect(new Set(large.page.edges.map((e: any) => e.node.subscriptions[0].gateway.name)).size).toBe(Math.min(sms.length, 25));
      expect(small.queries).toBeGreaterThan(0);
      expect(large.queries).toBe(small.queries);
    } finally {
      selects.mockRestore();
    }
  });
});
