// Message categories, consent settings and quiet hours through the real HTTP API. The server
// reads the real clock, so every window is laid around the current time in the zone it is
// read in (computed here with luxon) and the exact scheduledAt is asserted; the zones used
// keep no DST, so "an hour from now" is the same on the clock and in UTC. DST itself is
// covered with the time injected in src/modules/consent/quiet-hours.test.ts. Each test makes
// its own tenant (quiet hours are the tenant's), with SANDBOX gateways on every channel.
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromGlobalId } from '../src/lib/ids.js';
import type { UserError } from './helpers/api-types.js';
import { buildApiKey, buildRecipient, buildTenant, type RecipientInput } from './helpers/factories.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import type { TestDatabase } from './helpers/database.js';
import { metric, metricsText } from './helpers/metrics.js';
import { createPostgresDatabase } from './helpers/process.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';

let herald: TestHerald;

beforeAll(async () => {
  // Sending budgets off: a few tenants send a handful each, quickly.
  herald = await startTestHerald({ env: { HERALD_SEND_BUDGET_PER_MINUTE: '0', HERALD_SEND_BUDGET_PER_DAY: '0' } });
});
afterAll(async () => herald?.stop());

const USER_ERRORS = 'userErrors { field message code }';
const MESSAGE = 'id status category scheduledAt channel';
const TENANT = 'defaultTimeZone helpReply stopSuppresses unsubscribeSuppresses quietHours { channel start end categories }';
const SET_QUIET = `mutation($input: SetQuietHoursInput!) { setQuietHours(input: $input) { tenant { ${TENANT} } ${USER_ERRORS} } }`;
const UPDATE_CONSENT = `mutation($input: UpdateConsentSettingsInput!) { updateConsentSettings(input: $input) { tenant { ${TENANT} } ${USER_ERRORS} } }`;
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { ${MESSAGE} } ${USER_ERRORS} } }`;
const SEND = `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { message { ${MESSAGE} } ${USER_ERRORS} } }`;
const SEND_MANY = `mutation($input: SendNotificationsInput!) { sendNotifications(input: $input) {
  queued results { index message { ${MESSAGE} } ${USER_ERRORS} } ${USER_ERRORS} } }`;
const CREATE_TEMPLATE = `mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { template { id category } ${USER_ERRORS} } }`;
const UPDATE_TEMPLATE = `mutation($input: UpdateTemplateInput!) { updateTemplate(input: $input) { template { id category version } ${USER_ERRORS} } }`;
const CREATE_RECIPIENT = `mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id timeZone } ${USER_ERRORS} } }`;
const UPDATE_RECIPIENT = `mutation($input: UpdateRecipientInput!) { updateRecipient(input: $input) { recipient { id timeZone } ${USER_ERRORS} } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { ${USER_ERRORS} } }`;
const ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { ${MESSAGE} } ${USER_ERRORS} } }`;
const INVOICE_DM = `mutation($input: SendInvoiceDMInput!) { sendInvoiceDM(input: $input) { message { ${MESSAGE} } ${USER_ERRORS} } }`;
const CYCLE = `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected ${USER_ERRORS} } }`;

interface Sent {
  id: string;
  status: string;
  category: string;
  scheduledAt: string | null;
  channel: string;
}
type Payload<K extends string, T> = Record<K, T | null> & { userErrors: UserError[] };

/** A tenant of its own, acting with its ADMIN key (on `on`, another process, when given). */
async function tenant(on: TestHerald = herald) {
  const { adminKey } = await buildTenant(on);
  const as = async <T = any>(query: string, variables?: Record<string, unknown>) => ok<T>(await on.gql<T>(query, variables, adminKey));
  const recipient = (input: RecipientInput & { timeZone?: string | null } = {}) =>
    buildRecipient(on, { kind: 'CLIENT', phone: '+14155550199', email: 'quiet@example.com', ...input }, adminKey);
  return {
    key: adminKey,
    as,
    recipient,
    async quiet(input: Record<string, unknown>) {
      const { setQuietHours } = await as<{ setQuietHours: Payload<'tenant', any> }>(SET_QUIET, { input });
      expect(setQuietHours.userErrors).toEqual([]);
      return setQuietHours.tenant;
    },
    async consent(input: Record<string, unknown>) {
      return (await as<{ updateConsentSettings: Payload<'tenant', any> }>(UPDATE_CONSENT, { input })).updateConsentSettings;
    },
    async sms(input: Record<string, unknown>): Promise<Sent> {
      const { sendSms } = await as<{ sendSms: Payload<'message', Sent> }>(SEND_SMS, {
        input: { message: 'Spring sale: 20% off', ...input },
      });
      expect(sendSms.userErrors).toEqual([]);
      return sendSms.message!;
    },
    async notify(input: Record<string, unknown>): Promise<Sent> {
      const { sendNotification } = await as<{ sendNotification: Payload<'message', Sent> }>(SEND, { input });
      expect(sendNotification.userErrors).toEqual([]);
      return sendNotification.message!;
    },
  };
}

interface Window {
  start: string;
  end: string;
  /** The instant the window closes, as the API writes it. */
  endsAt: string;
}

/** A window read in `zone` that opens `from` minutes from now (negative: ago) and closes `to` minutes from now. */
function windowAround(zone: string, from: number, to: number): Window {
  const now = DateTime.now().setZone(zone).startOf('minute');
  const start = now.plus({ minutes: from });
  const end = now.plus({ minutes: to });
  return { start: start.toFormat('HH:mm'), end: end.toFormat('HH:mm'), endsAt: end.toUTC().toISO()! };
}

const iso = (at: string | null) => (at === null ? null : new Date(at).toISOString());

async function jobStartAfter(messageId: string): Promise<string> {
  const uuid = fromGlobalId(messageId, 'Message')!.uuid;
  const rows = await herald.handle.prepared<{ start_after: Date | string }>(
    'test_quiet_job',
    `select start_after from pgboss.job where data->>'messageId' = $1 or data->'messageIds' ? $1`,
    [uuid],
  );
  expect(rows).toHaveLength(1);
  return new Date(rows[0].start_after).toISOString();
}

// Zones without DST, five and a half hours apart.
const KOLKATA = 'Asia/Kolkata';
const TOKYO = 'Asia/Tokyo';

describe('message categories', () => {
  it('are TRANSACTIONAL unless the send says MARKETING, on sendSms, sendNotification and sendNotifications', async () => {
    const t = await tenant();
    const client = await t.recipient();
    expect((await t.sms({ clientId: client.id })).category).toBe('TRANSACTIONAL');
    expect((await t.sms({ clientId: client.id, category: 'MARKETING' })).category).toBe('MARKETING');
    expect((await t.notify({ recipientId: client.id, channel: 'SMS', body: 'Hi' })).category).toBe('TRANSACTIONAL');
    expect((await t.notify({ recipientId: client.id, channel: 'SMS', body: 'Hi', category: 'MARKETING' })).category).toBe('MARKETING');
    const { sendNotifications } = await t.as(SEND_MANY, {
      input: {
        items: [
          { recipientId: client.id, channel: 'SMS', body: 'One' },
          { recipientId: client.id, channel: 'EMAIL', subject: 'Two', body: 'Two', category: 'MARKETING' },
        ],
      },
    });
    expect(sendNotifications.results.map((r: { message: Sent }) => r.message.category)).toEqual(['TRANSACTIONAL', 'MARKETING']);
    // As stored: read back, and filtered by nothing else.
    const { message } = await t.as(`query($id: ID!) { message(id: $id) { category } }`, { id: sendNotifications.results[1].message.id });
    expect(message.category).toBe('MARKETING');
  });

  it('come from the template when the send names none, and a send’s own wins', async () => {
    const t = await tenant();
    const client = await t.recipient();
    const variants = [{ locale: 'en', body: 'New arrivals, {{ recipient.name }}' }];
    const { createTemplate } = await t.as(CREATE_TEMPLATE, { input: { name: 'promo', channel: 'SMS', variants, category: 'MARKETING' } });
    expect(createTemplate).toMatchObject({ template: { category: 'MARKETING' }, userErrors: [] });
    const plain = (await t.as(CREATE_TEMPLATE, { input: { name: 'plain', channel: 'SMS', variants } })).createTemplate.template;
    expect(plain.category).toBe('TRANSACTIONAL');

    const promo = createTemplate.template.id;
    expect((await t.notify({ recipientId: client.id, channel: 'SMS', templateId: promo })).category).toBe('MARKETING');
    expect((await t.notify({ recipientId: client.id, channel: 'SMS', templateId: promo, category: 'TRANSACTIONAL' })).category).toBe(
      'TRANSACTIONAL',
    );
    expect((await t.notify({ recipientId: client.id, channel: 'SMS', templateId: plain.id })).category).toBe('TRANSACTIONAL');

    // Changing the category applies to the next send; omitting it keeps it.
    const updated = (await t.as(UPDATE_TEMPLATE, { input: { id: promo, category: 'TRANSACTIONAL' } })).updateTemplate;
    expect(updated).toMatchObject({ template: { category: 'TRANSACTIONAL', version: 2 }, userErrors: [] });
    expect((await t.as(UPDATE_TEMPLATE, { input: { id: promo, name: 'promo 2' } })).updateTemplate.template.category).toBe('TRANSACTIONAL');
    expect((await t.notify({ recipientId: client.id, channel: 'SMS', templateId: promo })).category).toBe('TRANSACTIONAL');
  });

  it('stay TRANSACTIONAL on the built-in templates Herald’s own flows send', async () => {
    const t = await tenant();
    const { templates } = await t.as(`{ templates(filter: { name: "Order status" }) { edges { node { id builtIn category } } } }`);
    const builtIn = templates.edges.find((e: { node: { builtIn: string | null } }) => e.node.builtIn)?.node;
    expect(builtIn).toMatchObject({ builtIn: 'ORDER_STATUS', category: 'TRANSACTIONAL' });
    const refused = (await t.as(UPDATE_TEMPLATE, { input: { id: builtIn.id, category: 'MARKETING' } })).updateTemplate;
    expect(refused).toEqual({
      template: null,
      userErrors: [{ field: ['input', 'category'], message: expect.any(String), code: 'INVALID_INPUT' }],
    });
  });

  it('are part of an idempotent request only when given: the same key with another category is a conflict', async () => {
    const t = await tenant();
    const client = await t.recipient();
    const first = await t.sms({ clientId: client.id, idempotencyKey: 'promo-1', category: 'MARKETING' });
    expect((await t.sms({ clientId: client.id, idempotencyKey: 'promo-1', category: 'MARKETING' })).id).toBe(first.id);
    const { sendSms } = await t.as(SEND_SMS, {
      input: { clientId: client.id, message: 'Spring sale: 20% off', idempotencyKey: 'promo-1' },
    });
    expect(sendSms.userErrors).toEqual([{ field: ['input', 'idempotencyKey'], message: expect.any(String), code: 'IDEMPOTENCY_CONFLICT' }]);
    const plain = await t.sms({ clientId: client.id, idempotencyKey: 'plain-1' });
    expect((await t.sms({ clientId: client.id, idempotencyKey: 'plain-1', urgent: false })).id).toBe(plain.id);
  });

  it('follow a message into its fallback', async () => {
    const t = await tenant();
    // The SANDBOX fails Twilio's invalid number for good: the EMAIL fallback follows at once.
    const client = await t.recipient({ phone: '+15005550001' });
    const sent = await t.sms({ clientId: client.id, category: 'MARKETING', fallback: ['EMAIL'] });
    const getMessage = async (id: string) =>
      (
        await t.as(
          `query($id: ID!) { message(id: $id) { status errorCode errorMessage logs { outcome reason } fallbacks { ${MESSAGE} } } }`,
          { id },
        )
      ).message;
    await waitForMessageStatus(getMessage, sent.id, 'FAILED');
    let fallbacks: Sent[] = [];
    await expect.poll(async () => (fallbacks = (await getMessage(sent.id)).fallbacks).length, { timeout: 20_000, interval: 100 }).toBe(1);
    expect(fallbacks[0]).toMatchObject({ channel: 'EMAIL', category: 'MARKETING' });
  });
});

describe('consent settings', () => {
  it('start as documented, and are stored and shown as set', async () => {
    const t = await tenant();
    const { viewer } = await t.as(`{ viewer { ${TENANT} } }`);
    expect(viewer).toEqual({
      defaultTimeZone: 'UTC',
      helpReply: null,
      stopSuppresses: ['TRANSACTIONAL', 'MARKETING'],
      unsubscribeSuppresses: ['MARKETING'],
      quietHours: [],
    });
    const set = await t.consent({
      defaultTimeZone: 'America/Toronto',
      helpReply: '  Acme Shop: reply STOP to opt out. Help: acme.example/help  ',
      stopSuppresses: ['MARKETING'],
      unsubscribeSuppresses: ['MARKETING', 'TRANSACTIONAL'],
    });
    const expected = {
      defaultTimeZone: 'America/Toronto',
      helpReply: 'Acme Shop: reply STOP to opt out. Help: acme.example/help',
      stopSuppresses: ['MARKETING'],
      unsubscribeSuppresses: ['TRANSACTIONAL', 'MARKETING'],
      quietHours: [],
    };
    expect(set).toEqual({ tenant: expected, userErrors: [] });
    expect((await t.as(`{ viewer { ${TENANT} } }`)).viewer).toEqual(expected);
    // Omitted fields stay; helpReply: null removes the reply.
    expect((await t.consent({ helpReply: null })).tenant).toEqual({ ...expected, helpReply: null });
    expect((await t.consent({})).tenant).toEqual({ ...expected, helpReply: null });
  });

  it('refuse a zone that is not IANA, a blank or overlong HELP reply, and lists without MARKETING or with a category twice, all at once', async () => {
    const t = await tenant();
    const refused = await t.consent({
      defaultTimeZone: 'Eastern Time',
      helpReply: '   ',
      stopSuppresses: ['TRANSACTIONAL'],
      unsubscribeSuppresses: ['MARKETING', 'MARKETING'],
    });
    expect(refused.tenant).toBeNull();
    expect(refused.userErrors).toEqual([
      { field: ['input', 'defaultTimeZone'], message: expect.stringMatching(/IANA time zone/), code: 'INVALID_INPUT' },
      { field: ['input', 'helpReply'], message: expect.stringMatching(/blank/), code: 'INVALID_INPUT' },
      { field: ['input', 'stopSuppresses'], message: expect.stringMatching(/MARKETING/), code: 'INVALID_INPUT' },
      { field: ['input', 'unsubscribeSuppresses'], message: expect.stringMatching(/more than once/), code: 'INVALID_INPUT' },
    ]);
    expect((await t.consent({ helpReply: 'x'.repeat(1601) })).userErrors).toEqual([
      { field: ['input', 'helpReply'], message: 'helpReply must be at most 1,600 characters', code: 'INVALID_INPUT' },
    ]);
    expect((await t.consent({ unsubscribeSuppresses: [] })).userErrors).toMatchObject([{ field: ['input', 'unsubscribeSuppresses'] }]);
    expect((await t.consent({ helpReply: 'x'.repeat(1600) })).tenant.helpReply).toHaveLength(1600);
    // Nothing of the refused calls was stored.
    expect((await t.as(`{ viewer { defaultTimeZone stopSuppresses } }`)).viewer).toEqual({
      defaultTimeZone: 'UTC',
      stopSuppresses: ['TRANSACTIONAL', 'MARKETING'],
    });
  });

  it('and quiet hours are for ADMIN keys: SENDER and READER keys get FORBIDDEN and change nothing', async () => {
    const t = await tenant();
    for (const role of ['SENDER', 'READER'] as const) {
      const key = await buildApiKey(herald, role, t.key);
      const calls: [string, GqlResult][] = [
        ['updateConsentSettings', await herald.gql(UPDATE_CONSENT, { input: { defaultTimeZone: 'Asia/Tokyo' } }, key)],
        ['setQuietHours', await herald.gql(SET_QUIET, { input: { channel: 'SMS', start: '21:00', end: '08:00' } }, key)],
      ];
      for (const [field, result] of calls) {
        expect(result.status, field).toBe(403);
        expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
        expect(result.data?.[field] ?? null).toBeNull();
      }
    }
    expect((await t.as(`{ viewer { defaultTimeZone quietHours { channel } } }`)).viewer).toEqual({
      defaultTimeZone: 'UTC',
      quietHours: [],
    });
  });
});

describe('recipient time zones', () => {
  it('are IANA zones, stored as given; null clears one and omitting it keeps it', async () => {
    const t = await tenant();
    const made = (await t.as(CREATE_RECIPIENT, { input: { kind: 'CLIENT', displayName: 'Zoned', timeZone: 'Pacific/Auckland' } }))
      .createRecipient;
    expect(made).toMatchObject({ recipient: { timeZone: 'Pacific/Auckland' }, userErrors: [] });
    const id = made.recipient.id;
    expect((await t.as(UPDATE_RECIPIENT, { input: { id, displayName: 'Still zoned' } })).updateRecipient.recipient.timeZone).toBe(
      'Pacific/Auckland',
    );
    expect((await t.as(UPDATE_RECIPIENT, { input: { id, timeZone: KOLKATA } })).updateRecipient.recipient.timeZone).toBe(KOLKATA);
    expect((await t.as(UPDATE_RECIPIENT, { input: { id, timeZone: null } })).updateRecipient.recipient.timeZone).toBeNull();
  });

  it('refuse what is not a zone, on create and on update', async () => {
    const t = await tenant();
    const refusal = [{ field: ['input', 'timeZone'], message: expect.stringMatching(/IANA time zone/), code: 'INVALID_INPUT' }];
    for (const timeZone of ['GMT+5:30', 'Asia/Atlantis', '']) {
      const created = (await t.as(CREATE_RECIPIENT, { input: { kind: 'CLIENT', displayName: 'Nowhere', timeZone } })).createRecipient;
      expect(created, timeZone).toEqual({ recipient: null, userErrors: refusal });
    }
    const client = await t.recipient({ timeZone: KOLKATA });
    expect((await t.as(UPDATE_RECIPIENT, { input: { id: client.id, timeZone: 'Mars/Base' } })).updateRecipient).toEqual({
      recipient: null,
      userErrors: refusal,
    });
    expect((await t.as(`query($id: ID!) { recipient(id: $id) { timeZone } }`, { id: client.id })).recipient.timeZone).toBe(KOLKATA);
  });
});

describe('setQuietHours', () => {
  it('sets one window per channel, MARKETING unless told, across midnight or not; both null removes it', async () => {
    const t = await tenant();
    await t.quiet({ channel: 'SMS', start: '21:00', end: '08:00' });
    await t.quiet({ channel: 'EMAIL', start: '22:30', end: '23:45', categories: ['TRANSACTIONAL', 'MARKETING'] });
    const replaced = await t.quiet({ channel: 'SMS', start: '20:00', end: '07:30' });
    expect(replaced.quietHours).toEqual([
      { channel: 'SMS', start: '20:00', end: '07:30', categories: ['MARKETING'] },
      { channel: 'EMAIL', start: '22:30', end: '23:45', categories: ['TRANSACTIONAL', 'MARKETING'] },
    ]);
    expect((await t.quiet({ channel: 'SMS', start: null, end: null })).quietHours).toEqual([replaced.quietHours[1]]);
    expect((await t.quiet({ channel: 'WHATSAPP' })).quietHours).toEqual([replaced.quietHours[1]]);
  });

  it('refuses times that are not HH:MM, half a window, a window without length and bad category lists', async () => {
    const t = await tenant();
    const refusals = async (input: Record<string, unknown>) =>
      ((await t.as(SET_QUIET, { input: { channel: 'SMS', ...input } })).setQuietHours as Payload<'tenant', unknown>).userErrors;
    const hhmm = expect.stringMatching(/HH:MM/);
    expect(await refusals({ start: '9:00', end: '24:00' })).toEqual([
      { field: ['input', 'start'], message: hhmm, code: 'INVALID_INPUT' },
      { field: ['input', 'end'], message: hhmm, code: 'INVALID_INPUT' },
    ]);
    expect(await refusals({ start: '21:00', end: '8pm' })).toMatchObject([{ field: ['input', 'end'], message: hhmm }]);
    expect(await refusals({ start: '21:00' })).toMatchObject([{ field: ['input', 'end'], message: expect.stringMatching(/neither/) }]);
    expect(await refusals({ end: '08:00' })).toMatchObject([{ field: ['input', 'start'] }]);
    expect(await refusals({ start: '21:00', end: '21:00' })).toMatchObject([
      { field: ['input', 'end'], message: expect.stringMatching(/differ/) },
    ]);
    expect(await refusals({ start: '21:00', end: '08:00', categories: [] })).toMatchObject([{ field: ['input', 'categories'] }]);
    expect(await refusals({ start: '21:00', end: '08:00', categories: ['MARKETING', 'MARKETING'] })).toMatchObject([
      { field: ['input', 'categories'], message: expect.stringMatching(/more than once/) },
    ]);
    expect(await refusals({ categories: ['MARKETING'] })).toMatchObject([{ field: ['input', 'categories'] }]);
    expect((await t.as(`{ viewer { quietHours { channel } } }`)).viewer.quietHours).toEqual([]);
  });
});

describe('quiet hours at accept', () => {
  it('schedule a MARKETING SMS accepted inside the window to the window’s end in the recipient’s zone, with its job due then', async () => {
    const t = await tenant();
    const client = await t.recipient({ timeZone: KOLKATA });
    const window = windowAround(KOLKATA, -60, 120);
    await t.quiet({ channel: 'SMS', start: window.start, end: window.end });

    const held = await t.sms({ clientId: client.id, category: 'MARKETING' });
    expect({ ...held, scheduledAt: iso(held.scheduledAt) }).toMatchObject({
      status: 'SCHEDULED',
      category: 'MARKETING',
      scheduledAt: window.endsAt,
    });
    expect(await jobStartAfter(held.id)).toBe(window.endsAt);
    // Read back as stored.
    const { message } = await t.as(`query($id: ID!) { message(id: $id) { status scheduledAt } }`, { id: held.id });
    expect([message.status, iso(message.scheduledAt)]).toEqual(['SCHEDULED', window.endsAt]);
  });

  it('let an urgent message, a TRANSACTIONAL one, and one accepted outside the window go at once', async () => {
    const t = await tenant();
    const client = await t.recipient({ timeZone: KOLKATA });
    const window = windowAround(KOLKATA, -60, 120);
    await t.quiet({ channel: 'SMS', start: window.start, end: window.end });
    for (const input of [{ category: 'MARKETING', urgent: true }, {}, { category: 'TRANSACTIONAL' }]) {
      const sent = await t.sms({ clientId: client.id, ...input });
      expect([sent.status, sent.scheduledAt], JSON.stringify(input)).toEqual(['QUEUED', null]);
    }
    const later = windowAround(KOLKATA, 60, 120);
    await t.quiet({ channel: 'SMS', start: later.start, end: later.end });
    expect((await t.sms({ clientId: client.id, category: 'MARKETING' })).status).toBe('QUEUED');
  });

  it('hold TRANSACTIONAL messages too when the window lists them', async () => {
    const t = await tenant();
    const client = await t.recipient({ timeZone: KOLKATA });
    const window = windowAround(KOLKATA, -30, 45);
    await t.quiet({ channel: 'SMS', start: window.start, end: window.end, categories: ['TRANSACTIONAL', 'MARKETING'] });
    const held = await t.sms({ clientId: client.id });
    expect([held.status, held.category, iso(held.scheduledAt)]).toEqual(['SCHEDULED', 'TRANSACTIONAL', window.endsAt]);
    expect((await t.sms({ clientId: client.id, urgent: true })).status).toBe('QUEUED');
  });

  it('read the window in the recipient’s own zone when it has one, else in the tenant’s default', async () => {
    const t = await tenant();
    await t.consent({ defaultTimeZone: TOKYO });
    // Inside the window in Tokyo; three and a half hours earlier in Kolkata, outside it.
    const window = windowAround(TOKYO, -60, 120);
    await t.quiet({ channel: 'SMS', start: window.start, end: window.end });
    const inDefaultZone = await t.recipient();
    const inKolkata = await t.recipient({ timeZone: KOLKATA });
    const held = await t.sms({ clientId: inDefaultZone.id, category: 'MARKETING' });
    expect([held.status, iso(held.scheduledAt)]).toEqual(['SCHEDULED', window.endsAt]);
    expect((await t.sms({ clientId: inKolkata.id, category: 'MARKETING' })).status).toBe('QUEUED');

    // The tenant's default changes: a recipient without a zone follows it at once.
    await t.consent({ defaultTimeZone: KOLKATA });
    expect((await t.sms({ clientId: inDefaultZone.id, category: 'MARKETING' })).status).toBe('QUEUED');
    // The recipient moves to Tokyo: its own zone again puts it inside.
    await t.as(UPDATE_RECIPIENT, { input: { id: inKolkata.id, timeZone: TOKYO } });
    expect(iso((await t.sms({ clientId: inKolkata.id, category: 'MARKETING' })).scheduledAt)).toBe(window.endsAt);
  });

  it('move a sendAt inside the window to its end, and keep one outside it', async () => {
    const t = await tenant();
    const client = await t.recipient({ timeZone: KOLKATA });
    const window = windowAround(KOLKATA, 180, 300);
    await t.quiet({ channel: 'SMS', start: window.start, end: window.end });
    const inside = DateTime.now().plus({ hours: 4 }).toUTC().toISO();
    const outside = DateTime.now().plus({ hours: 6 }).toUTC().toISO();
    const moved = await t.sms({ clientId: client.id, category: 'MARKETING', sendAt: inside });
    expect([moved.status, iso(moved.scheduledAt)]).toEqual(['SCHEDULED', window.endsAt]);
    const kept = await t.sms({ clientId: client.id, category: 'MARKETING', sendAt: outside });
    expect([kept.status, iso(kept.scheduledAt)]).toEqual(['SCHEDULED', new Date(outside).toISOString()]);
    const urgent = await t.sms({ clientId: client.id, category: 'MARKETING', sendAt: inside, urgent: true });
    expect(iso(urgent.scheduledAt)).toBe(new Date(inside).toISOString());
  });

  it('apply per channel to sendNotification and to each item of sendNotifications, from a template’s category too', async () => {
    const t = await tenant();
    const client = await t.recipient({ timeZone: KOLKATA });
    const window = windowAround(KOLKATA, -60, 120);
    await t.quiet({ channel: 'EMAIL', start: window.start, end: window.end });
    const { createTemplate } = await t.as(CREATE_TEMPLATE, {
      input: { name: 'newsletter', channel: 'EMAIL', category: 'MARKETING', variants: [{ locale: 'en', subject: 'News', body: 'News' }] },
    });

    const held = await t.notify({ recipientId: client.id, channel: 'EMAIL', templateId: createTemplate.template.id });
    expect([held.status, held.category, iso(held.scheduledAt)]).toEqual(['SCHEDULED', 'MARKETING', window.endsAt]);
    // No window on SMS.
    expect((await t.notify({ recipientId: client.id, channel: 'SMS', body: 'Sale', category: 'MARKETING' })).status).toBe('QUEUED');

    const { sendNotifications } = await t.as(SEND_MANY, {
      input: {
        items: [
          { recipientId: client.id, channel: 'EMAIL', subject: 'Sale', body: 'Sale', category: 'MARKETING' },
          { recipientId: client.id, channel: 'EMAIL', subject: 'Receipt', body: 'Receipt' },
          { recipientId: client.id, channel: 'EMAIL', subject: 'Flash sale', body: 'Now', category: 'MARKETING', urgent: true },
          { recipientId: client.id, channel: 'SMS', body: 'Sale', category: 'MARKETING' },
        ],
      },
    });
    expect(sendNotifications.queued).toBe(4);
    expect(sendNotifications.results.map((r: { message: Sent }) => [r.message.status, iso(r.message.scheduledAt)])).toEqual([
      ['SCHEDULED', window.endsAt],
      ['QUEUED', null],
      ['QUEUED', null],
      ['QUEUED', null],
    ]);
  });

  it('hold Herald’s own flows (order status, invoice DMs) only where the window lists TRANSACTIONAL', async () => {
    const t = await tenant();
    const customer = await t.recipient({ kind: 'CUSTOMER', twitterHandle: 'quiet_customer', timeZone: KOLKATA });
    for (const channel of ['SMS', 'EMAIL'])
      expect((await t.as(SUBSCRIBE, { input: { recipientId: customer.id, channel } })).subscribe.userErrors).toEqual([]);
    const window = windowAround(KOLKATA, -60, 120);
    await t.quiet({ channel: 'SMS', start: window.start, end: window.end });
    await t.quiet({ channel: 'EMAIL', start: window.start, end: window.end, categories: ['TRANSACTIONAL'] });
    await t.quiet({ channel: 'TWITTER_DM', start: window.start, end: window.end, categories: ['TRANSACTIONAL'] });

    const order = (
      await t.as(ORDER, { input: { customerId: customer.id, orderId: 'ORD-QUIET', status: 'shipped', idempotencyKey: 'ord-quiet' } })
    ).updateOrderStatus;
    expect(order.userErrors).toEqual([]);
    const byChannel = Object.fromEntries(order.messages.map((m: Sent) => [m.channel, [m.status, m.category, iso(m.scheduledAt)]]));
    expect(byChannel).toEqual({ SMS: ['QUEUED', 'TRANSACTIONAL', null], EMAIL: ['SCHEDULED', 'TRANSACTIONAL', window.endsAt] });
    const email = order.messages.find((m: Sent) => m.channel === 'EMAIL');
    expect(await jobStartAfter(email.id)).toBe(window.endsAt);

    const invoice = { number: 'INV-QUIET-1', amountDue: '12.00', currency: 'USD', dueDate: '2026-12-01' };
    const dm = (await t.as(INVOICE_DM, { input: { customerId: customer.id, invoice } })).sendInvoiceDM;
    expect([dm.message.status, dm.message.category, iso(dm.message.scheduledAt)]).toEqual(['SCHEDULED', 'TRANSACTIONAL', window.endsAt]);

    const before = metric(await metricsText(herald.url), 'herald_messages_total', { channel: 'TWITTER_DM', status: 'SCHEDULED' });
    const other = await t.recipient({ kind: 'CUSTOMER', twitterHandle: 'quiet_other' });
    const cycle = (
      await t.as(CYCLE, {
        input: {
          cycleId: 'cycle-quiet',
          invoices: [
            { customerId: customer.id, invoice: { ...invoice, number: 'INV-QUIET-2' } },
            { customerId: other.id, invoice: { ...invoice, number: 'INV-QUIET-3' } },
          ],
        },
      })
    ).notifyBillingCycle;
    expect(cycle).toEqual({ queued: 2, rejected: 0, userErrors: [] });
    const invoiceMessage = async (number: string) =>
      (await t.as(`query($n: String!) { messages(filter: { invoiceNumber: $n }) { edges { node { ${MESSAGE} } } } }`, { n: number }))
        .messages.edges[0].node as Sent;
    // Kolkata is inside the window; the other customer has no zone and the tenant's is UTC, outside.
    const [held, sent] = [await invoiceMessage('INV-QUIET-2'), await invoiceMessage('INV-QUIET-3')];
    expect([held.status, iso(held.scheduledAt)]).toEqual(['SCHEDULED', window.endsAt]);
    expect(await jobStartAfter(held.id)).toBe(window.endsAt);
    expect(sent.scheduledAt).toBeNull();
    expect(metric(await metricsText(herald.url), 'herald_messages_total', { channel: 'TWITTER_DM', status: 'SCHEDULED' }) - before).toBe(1);
  });
});

describe('quiet hours across API processes on one PostgreSQL', () => {
  let database: TestDatabase;
  let a: TestHerald;
  let b: TestHerald;
  beforeAll(async () => {
    database = await createPostgresDatabase('two API processes');
    a = await startTestHerald({ database, role: 'api' });
    b = await startTestHerald({ database, role: 'api' });
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.stop();
  });

  it('a window set or removed through one process holds, or frees, the next send through the other within a second', async () => {
    const t = await tenant(a);
    const client = await t.recipient({ timeZone: KOLKATA });
    const sendOnB = async () => {
      const input = { clientId: client.id, message: 'Sale', category: 'MARKETING' };
      const { sendSms } = ok<{ sendSms: Payload<'message', Sent> }>(await b.gql(SEND_SMS, { input }, t.key));
      return sendSms.message!;
    };
    // B has read the tenant's (empty) quiet hours and keeps them for 30 s unless told.
    expect((await sendOnB()).status).toBe('QUEUED');
    const window = windowAround(KOLKATA, -60, 120);
    await t.quiet({ channel: 'SMS', start: window.start, end: window.end });
    const setAt = Date.now();
    let held: Sent | undefined;
    await waitUntil('the other process to hold the send', async () => (held = await sendOnB()).status === 'SCHEDULED', 5_000, 20);
    expect(Date.now() - setAt).toBeLessThan(1_000);
    expect(iso(held!.scheduledAt)).toBe(window.endsAt);

    await t.quiet({ channel: 'SMS', start: null, end: null });
    const removedAt = Date.now();
    await waitUntil('the other process to free the send', async () => (await sendOnB()).status === 'QUEUED', 5_000, 20);
    expect(Date.now() - removedAt).toBeLessThan(1_000);
  });
});
