// Templates end to end: the real HTTP API, the real worker, and the real twilio, @sendgrid/mail
// and twitter-api-v2 SDKs against local fakes of the vendors. Every check is on what a user
// or a vendor sees: what the API answers (versions, refusals, previews and their SMS figures)
// and the words Twilio, SendGrid and X receive before and after a tenant edits Herald's
// built-in order and invoice texts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeSendgridKey, type SendgridFake, type SendgridFakeRequest, startSendgridFake } from './fakes/sendgrid-fake.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake, type TwilioFakeRequest } from './fakes/twilio-fake.js';
import { fakeTwitterAccount, startTwitterFake, type TwitterFake } from './fakes/twitter-fake.js';
import type { LogBase, UserError } from './helpers/api-types.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { fastRetryEnv, type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitForMessageStatus } from './helpers/wait.js';

const SMS_FROM = '+15005550006';
const WHATSAPP_FROM = '+14155238886';
const FROM_EMAIL = 'orders@herald.example.com';
const SHOP_EMAIL = 'shop@branch.example.org';
const twilioAccount = fakeTwilioAccount();
const sendgridKey = fakeSendgridKey();
const twitterAccount = fakeTwitterAccount();

let twilioFake: TwilioFake;
let sendgridFake: SendgridFake;
let twitterFake: TwitterFake;
let herald: TestHerald;

beforeAll(async () => {
  [twilioFake, sendgridFake, twitterFake] = await Promise.all([
    startTwilioFake({ accounts: [twilioAccount] }),
    startSendgridFake({ apiKeys: [sendgridKey] }),
    startTwitterFake({ accounts: [twitterAccount] }),
  ]);
  herald = await startTestHerald({
    env: {
      TWILIO_ACCOUNT_SID: twilioAccount.accountSid,
      TWILIO_AUTH_TOKEN: twilioAccount.authToken,
      TWILIO_SMS_FROM: SMS_FROM,
      TWILIO_WHATSAPP_FROM: WHATSAPP_FROM,
      TWILIO_API_BASE_URL: twilioFake.url,
      SENDGRID_API_KEY: sendgridKey,
      SENDGRID_FROM_EMAIL: FROM_EMAIL,
      SENDGRID_API_BASE_URL: sendgridFake.url,
      TWITTER_APP_KEY: twitterAccount.appKey,
      TWITTER_APP_SECRET: twitterAccount.appSecret,
      TWITTER_ACCESS_TOKEN: twitterAccount.accessToken,
      TWITTER_ACCESS_SECRET: twitterAccount.accessSecret,
      TWITTER_API_BASE_URL: twitterFake.url,
      ...fastRetryEnv(3),
      HERALD_SEND_TIMEOUT_MS: '5000',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await Promise.all([twilioFake?.close(), sendgridFake?.close(), twitterFake?.close()]);
});

// ---------------------------------------------------------------------------------------
// GraphQL documents and helpers

const VERSION_FIELDS = 'version defaultLocale createdAt variants { locale subject body htmlBody }';
const TEMPLATE_FIELDS = `id name channel version archived builtIn createdAt updatedAt current { ${VERSION_FIELDS} }`;
const PAYLOAD = `template { ${TEMPLATE_FIELDS} } userErrors { field message code }`;
const CREATE = `mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { ${PAYLOAD} } }`;
const UPDATE = `mutation($input: UpdateTemplateInput!) { updateTemplate(input: $input) { ${PAYLOAD} } }`;
const ARCHIVE = `mutation($input: ArchiveTemplateInput!) { archiveTemplate(input: $input) { ${PAYLOAD} } }`;
const RESET = `mutation($input: ResetTemplateInput!) { resetTemplate(input: $input) { ${PAYLOAD} } }`;
const GET = `query($id: ID!, $version: Int) { template(id: $id, version: $version) { ${TEMPLATE_FIELDS} versions { ${VERSION_FIELDS} } } }`;
const LIST = `query($first: Int, $after: String, $last: Int, $before: String, $filter: TemplateFilter) {
  templates(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${TEMPLATE_FIELDS} } } } }`;
const PREVIEW = `query($input: PreviewTemplateInput!) { previewTemplate(input: $input) {
  preview { locale subject body htmlBody sms { encoding characters segments unicodeCharacters billableUnits } }
  userErrors { field message code } } }`;
const MESSAGE_FIELDS = `id channel status body subject attempts errorCode errorMessage templateVersion locale encoding segments
  template { id builtIn version } logs { id outcome channel reason at }`;
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) {
  messages { ${MESSAGE_FIELDS} } failures { id outcome channel reason at } userErrors { field message code } } }`;
const SEND_INVOICE = `mutation($input: SendInvoiceDMInput!) { sendInvoiceDM(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { field message code } } }`;
const SEND = `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { field message code } } }`;
const GET_MESSAGE = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
const MESSAGE_COUNT = '{ messages { totalCount } }';
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) {
  gateway { id provider isDefault priceMultiplier } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { userErrors { field message code } } }`;

type Channel = 'SMS' | 'WHATSAPP' | 'EMAIL' | 'TWITTER_DM';

interface Variant {
  locale: string;
  subject: string | null;
  body: string;
  htmlBody: string | null;
}
interface Version {
  version: number;
  defaultLocale: string;
  createdAt: string;
  variants: Variant[];
}
interface Template {
  id: string;
  name: string;
  channel: Channel;
  version: number;
  archived: boolean;
  builtIn: string | null;
  createdAt: string;
  updatedAt: string;
  current: Version;
  versions?: Version[];
}
interface TemplatePayload {
  template: Template | null;
  userErrors: UserError[];
}
interface SmsFigures {
  encoding: 'GSM7' | 'UCS2';
  characters: number;
  segments: number;
  unicodeCharacters: string[];
  billableUnits: number;
}
interface Preview {
  locale: string;
  subject: string | null;
  body: string;
  htmlBody: string | null;
  sms: SmsFigures | null;
}
interface Message {
  id: string;
  channel: Channel;
  status: string;
  body: string;
  subject: string | null;
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
  templateVersion: number | null;
  locale: string | null;
  encoding: string | null;
  segments: number | null;
  template: { id: string; builtIn: string | null; version: number } | null;
  logs: LogBase[];
}
interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: { cursor: string; node: Template }[];
}

let nextLine = 700;
const freshPhone = () => `+1415555${String(nextLine++).padStart(4, '0')}`;
const freshEmail = () => `t${randomBytes(4).toString('hex')}@example.com`;
const freshName = (stem: string) => `${stem} ${randomBytes(3).toString('hex')}`;

function expectCode(result: GqlResult, code: string) {
  expect(result.errors?.length, JSON.stringify(result)).toBeGreaterThan(0);
  expect(result.errors?.[0].extensions?.code).toBe(code);
}

async function mutate(document: string, input: Record<string, unknown>, key?: string): Promise<TemplatePayload> {
  const data = ok(await herald.gql(document, { input }, key));
  return Object.values(data)[0] as TemplatePayload;
}

/** A template that must be saved: fails the test with the userErrors otherwise. */
async function saved(document: string, input: Record<string, unknown>, key?: string): Promise<Template> {
  const payload = await mutate(document, input, key);
  expect(payload.userErrors).toEqual([]);
  return payload.template!;
}

const smsTemplate = (key: string, body: string, name = freshName('SMS')) =>
  saved(CREATE, { name, channel: 'SMS', variants: [{ locale: 'en', body }] }, key);

async function getTemplate(id: string, key?: string, version?: number): Promise<Template | null> {
  return ok(await herald.gql(GET, { id, version }, key)).template;
}

async function list(variables: Record<string, unknown>, key?: string): Promise<Page> {
  return ok(await herald.gql(LIST, variables, key)).templates;
}

const templateCount = async (key?: string) => (await list({ first: 0 }, key)).totalCount;
const messageCount = async (key?: string): Promise<number> => ok(await herald.gql(MESSAGE_COUNT, undefined, key)).messages.totalCount;

async function preview(input: Record<string, unknown>, key?: string): Promise<{ preview: Preview | null; userErrors: UserError[] }> {
  return ok(await herald.gql(PREVIEW, { input }, key)).previewTemplate;
}

/** A preview that must succeed: fails the test with the userErrors otherwise. */
async function previewed(input: Record<string, unknown>, key?: string): Promise<Preview> {
  const payload = await preview(input, key);
  expect(payload.userErrors).toEqual([]);
  return payload.preview!;
}

const smsFigures = async (body: string, key: string, personalisation?: Record<string, unknown>) =>
  (await previewed({ channel: 'SMS', body, personalisation }, key)).sms!;

async function getMessage(id: string, key?: string): Promise<Message> {
  const message = ok(await herald.gql(GET_MESSAGE, { id }, key)).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}

async function settled(messages: Message[], key: string): Promise<Record<string, Message>> {
  const done = await Promise.all(
    messages.map((m) => waitForMessageStatus((id, k) => getMessage(id, k), m.id, ['SENT', 'FAILED'], { key, timeoutMs: 15_000 })),
  );
  return Object.fromEntries(done.map((m) => [m.channel, m]));
}

const twilioTo = (to: string): TwilioFakeRequest[] => twilioFake.requests.filter((r) => r.form.To === to);
const sendgridTo = (email: string): SendgridFakeRequest[] =>
  sendgridFake.requests.filter((r) => r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)));

interface Shop {
  key: string;
  builtIn: Record<Channel, Template>;
}

/**
 * A new tenant whose default gateways are its own Twilio, SendGrid and X accounts at the
 * fakes, with its built-in templates by channel.
 */
async function shop(): Promise<Shop> {
  const { adminKey: key } = await buildTenant(herald);
  const twilio = (from: string) => JSON.stringify({ accountSid: twilioAccount.accountSid, authToken: twilioAccount.authToken, from });
  const gateways = [
    { channel: 'SMS', provider: 'TWILIO', credentials: twilio('+15005550010') },
    { channel: 'WHATSAPP', provider: 'TWILIO', credentials: twilio('+15005550011') },
    { channel: 'EMAIL', provider: 'SENDGRID', credentials: JSON.stringify({ apiKey: sendgridKey, from: SHOP_EMAIL }) },
    { channel: 'TWITTER_DM', provider: 'TWITTER', credentials: JSON.stringify(twitterAccount) },
  ];
  for (const gateway of gateways) {
    const added = ok(await herald.gql(ADD_GATEWAY, { input: { ...gateway, name: `shop-${gateway.channel}`, makeDefault: true } }, key));
    expect(added.addChannelGateway.userErrors).toEqual([]);
  }
  const all = await list({ first: 10 }, key);
  const builtIn = Object.fromEntries(all.edges.filter((e) => e.node.builtIn).map((e) => [e.node.channel, e.node])) as Record<
    Channel,
    Template
  >;
  return { key, builtIn };
}

/** A CUSTOMER of the shop subscribed to SMS, e-mail and WhatsApp through the shop's gateways. */
async function orderCustomer(key: string, displayName = 'Jane Doe') {
  const contact = { phone: freshPhone(), whatsapp: freshPhone(), email: freshEmail() };
  const person = await buildRecipient(herald, { kind: 'CUSTOMER', displayName, ...contact }, key);
  for (const channel of ['SMS', 'EMAIL', 'WHATSAPP']) {
    const subscribed = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel } }, key));
    expect(subscribed.subscribe.userErrors).toEqual([]);
  }
  return { id: person.id as string, ...contact };
}

async function updateOrderStatus(input: Record<string, unknown>, key: string) {
  const payload = ok(await herald.gql(UPDATE_ORDER, { input }, key)).updateOrderStatus as {
    messages: Message[];
    failures: LogBase[];
    userErrors: UserError[];
  };
  expect(payload.userErrors).toEqual([]);
  return payload;
}

/** Herald's order-status texts, as it sent them before templates existed. */
const orderLine = (orderId: string, status: string, note?: string) => `Order ${orderId} is now ${status}.${note ? ` ${note}` : ''}`;

// ---------------------------------------------------------------------------------------

describe('the templates a tenant has', () => {
  it('gives a new tenant its four built-in templates, each at version 1, and nothing else', async () => {
    const { adminKey } = await buildTenant(herald);
    const page = await list({}, adminKey);
    expect(page.totalCount).toBe(4);
    const builtIns = page.edges.map((e) => [e.node.builtIn, e.node.channel, e.node.version, e.node.archived]).sort();
    expect(builtIns).toEqual(
      [
        ['INVOICE_DUE', 'TWITTER_DM', 1, false],
        ['ORDER_STATUS', 'EMAIL', 1, false],
        ['ORDER_STATUS', 'SMS', 1, false],
        ['ORDER_STATUS', 'WHATSAPP', 1, false],
      ].sort(),
    );
    for (const { node } of page.edges) {
      expect(node.id).toMatch(/^tpl_/);
      expect(node.current).toMatchObject({ version: 1, defaultLocale: 'en', variants: [{ locale: 'en' }] });
    }
    const email = page.edges.find((e) => e.node.channel === 'EMAIL')!.node;
    expect(email.current.variants[0].subject).toContain('{{ order.id }}');
    expect(email.current.variants[0].htmlBody).toContain('<p>');
  });

  it('filters by channel, by archived, and by a case-insensitive piece of the name in which % is just a character', async () => {
    const { adminKey: key } = await buildTenant(herald);
    const reminder = await smsTemplate(key, 'Your visit is tomorrow.', 'Visit REMINDER');
    const discount = await smsTemplate(key, 'Save 100% today.', '100% off');
    const lookalike = await smsTemplate(key, 'Save 100 today.', '1000 off');
    const mail = await saved(
      CREATE,
      { name: 'Visit reminder mail', channel: 'EMAIL', variants: [{ locale: 'en', subject: 'Visit', body: 'See you.' }] },
      key,
    );
    await saved(ARCHIVE, { id: lookalike.id }, key);
    const names = async (filter: Record<string, unknown>) => (await list({ filter }, key)).edges.map((e) => e.node.name);

    expect(await names({ channel: 'SMS' })).toEqual(['1000 off', '100% off', 'Visit REMINDER', 'Order status (SMS)']);
    expect(await names({ channel: 'EMAIL' })).toEqual([mail.name, 'Order status (e-mail)']);
    expect(await names({ archived: true })).toEqual(['1000 off']);
    expect(await names({ archived: false, channel: 'SMS' })).toEqual(['100% off', 'Visit REMINDER', 'Order status (SMS)']);
    expect(await names({ name: 'visit reminder' })).toEqual([mail.name, reminder.name]);
    expect(await names({ name: 'REMINDER MAIL' })).toEqual([mail.name]);
    expect(await names({ name: '100%' })).toEqual([discount.name]);
    expect(await names({ name: '0%' })).toEqual([discount.name]);
    expect(await names({ name: '_' })).toEqual([]);
    expect(await names({ name: 'order status' })).toHaveLength(3);
    expect(await names({ name: 'visit', channel: 'SMS' })).toEqual([reminder.name]);
    expect((await list({ filter: { name: 'nothing like it' } }, key)).totalCount).toBe(0);
  });

  it('pages forward with first/after and backward with last/before, newest first, over own and built-in templates', async () => {
    const { adminKey: key } = await buildTenant(herald);
    const own: Template[] = [];
    for (let i = 1; i <= 5; i += 1) own.push(await smsTemplate(key, `Text ${i}`, `Own ${i}`));
    const everything = await list({ first: 100 }, key);
    expect(everything.totalCount).toBe(9);
    const all = everything.edges.map((e) => e.node.id);
    expect(all.slice(0, 5)).toEqual(own.map((t) => t.id).reverse());
    expect(everything.edges.slice(5).every((e) => e.node.builtIn)).toBe(true);

    const ids = (page: Page) => page.edges.map((e) => e.node.id);
    const first = await list({ first: 4 }, key);
    const second = await list({ first: 4, after: first.pageInfo.endCursor }, key);
    const third = await list({ first: 4, after: second.pageInfo.endCursor }, key);
    expect([ids(first), ids(second), ids(third)]).toEqual([all.slice(0, 4), all.slice(4, 8), all.slice(8)]);
    expect([first, second, third].map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect([first, second, third].map((p) => p.pageInfo.hasPreviousPage)).toEqual([false, true, true]);
    expect(third.totalCount).toBe(9);

    const oldest = await list({ last: 4 }, key);
    const middle = await list({ last: 4, before: oldest.pageInfo.startCursor }, key);
    const newest = await list({ last: 4, before: middle.pageInfo.startCursor }, key);
    expect([ids(oldest), ids(middle), ids(newest)]).toEqual([all.slice(5), all.slice(1, 5), all.slice(0, 1)]);
    expect([oldest, middle, newest].map((p) => p.pageInfo.hasPreviousPage)).toEqual([true, true, false]);
    expect([oldest, middle, newest].map((p) => p.pageInfo.hasNextPage)).toEqual([false, true, true]);

    // Paging within a filter keeps to it.
    const smsFirst = await list({ first: 3, filter: { channel: 'SMS' } }, key);
    const smsRest = await list({ first: 3, after: smsFirst.pageInfo.endCursor, filter: { channel: 'SMS' } }, key);
    expect([...ids(smsFirst), ...ids(smsRest)]).toEqual([
      ...own.map((t) => t.id).reverse(),
      everything.edges.find((e) => e.node.channel === 'SMS' && e.node.builtIn)!.node.id,
    ]);
    expect(smsRest.pageInfo.hasNextPage).toBe(false);
  });
});

describe('versions', () => {
  let key: string;
  beforeAll(async () => {
    key = (await buildTenant(herald)).adminKey;
  });

  it('saves a new template as version 1, and each update as the next version, keeping what the update leaves out', async () => {
    const variants = [
      { locale: 'en', body: 'Your code is {{ code }}.' },
      { locale: 'fr', body: 'Votre code est {{ code }}.' },
    ];
    const created = await saved(CREATE, { name: 'Login code', channel: 'SMS', variants }, key);
    expect(created).toMatchObject({ name: 'Login code', channel: 'SMS', version: 1, archived: false, builtIn: null });
    expect(created.current).toMatchObject({
      version: 1,
      defaultLocale: 'en',
      variants: variants.map((v) => ({ ...v, subject: null, htmlBody: null })),
    });

    const renamed = await saved(UPDATE, { id: created.id, name: 'Sign-in code' }, key);
    expect(renamed).toMatchObject({ id: created.id, name: 'Sign-in code', version: 2 });
    expect(renamed.current.variants).toEqual(created.current.variants);
    expect(renamed.current.defaultLocale).toBe('en');

    const reworded = await saved(UPDATE, { id: created.id, variants: [{ locale: 'en', body: 'Code: {{ code }}' }] }, key);
    expect(reworded).toMatchObject({ id: created.id, name: 'Sign-in code', version: 3 });
    expect(reworded.current.variants).toEqual([{ locale: 'en', subject: null, body: 'Code: {{ code }}', htmlBody: null }]);

    const found = (await getTemplate(created.id, key))!;
    expect(found).toMatchObject({ id: created.id, name: 'Sign-in code', version: 3, current: { version: 3 } });
    expect(found.versions!.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(found.versions!.map((v) => v.variants.map((x) => x.body))).toEqual([
      ['Code: {{ code }}'],
      ['Your code is {{ code }}.', 'Votre code est {{ code }}.'],
      ['Your code is {{ code }}.', 'Votre code est {{ code }}.'],
    ]);
    expect(Date.parse(found.updatedAt)).toBeGreaterThanOrEqual(Date.parse(found.createdAt));
  });

  it('gives concurrent updates of one template one version each, none lost or repeated', async () => {
    const made = await smsTemplate(key, 'Version 1');
    const updates = await Promise.all(
      Array.from({ length: 8 }, (_, i) => saved(UPDATE, { id: made.id, variants: [{ locale: 'en', body: `Edit ${i}` }] }, key)),
    );
    expect(updates.map((t) => t.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const found = (await getTemplate(made.id, key))!;
    expect(found.version).toBe(9);
    expect(found.versions!.map((v) => v.version)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    // Each answer showed the words it wrote, under the number it got.
    for (const update of updates) {
      expect(found.versions!.find((v) => v.version === update.version)!.variants).toEqual(update.current.variants);
    }
    expect(found.current).toEqual(found.versions![0]);
  });

  it('shows an older version with template(id, version) and answers null for a version that does not exist', async () => {
    const created = await smsTemplate(key, 'First words, {{ name }}.');
    await saved(UPDATE, { id: created.id, variants: [{ locale: 'en', body: 'Second words, {{ name }}.' }] }, key);

    const first = (await getTemplate(created.id, key, 1))!;
    expect(first).toMatchObject({ id: created.id, version: 2, current: { version: 1, variants: [{ body: 'First words, {{ name }}.' }] } });
    const latest = (await getTemplate(created.id, key))!;
    expect(latest.current).toMatchObject({ version: 2, variants: [{ body: 'Second words, {{ name }}.' }] });
    expect(await getTemplate(created.id, key, 99)).toBeNull();
    expect(await getTemplate('tpl_0000000000007000800000000000dead', key)).toBeNull();
  });

  it("keeps tenants apart: another tenant's template reads as null, and updating, archiving or previewing it is NOT_FOUND", async () => {
    const mine = await smsTemplate(key, 'Mine, {{ name }}.');
    const { adminKey: otherKey } = await buildTenant(herald);
    expect(await getTemplate(mine.id, otherKey)).toBeNull();
    expect(await getTemplate(mine.id, otherKey, 1)).toBeNull();
    expect((await list({ first: 100 }, otherKey)).edges.map((e) => e.node.id)).not.toContain(mine.id);

    const notFound = [{ field: ['input', 'id'], code: 'NOT_FOUND', message: expect.any(String) }];
    expect(await mutate(UPDATE, { id: mine.id, name: 'Taken over' }, otherKey)).toEqual({ template: null, userErrors: notFound });
    expect(await mutate(ARCHIVE, { id: mine.id }, otherKey)).toEqual({ template: null, userErrors: notFound });
    expect(await mutate(RESET, { id: mine.id }, otherKey)).toEqual({ template: null, userErrors: notFound });
    expect(await preview({ templateId: mine.id, personalisation: { name: 'x' } }, otherKey)).toEqual({
      preview: null,
      userErrors: [{ field: ['input', 'templateId'], code: 'NOT_FOUND', message: expect.any(String) }],
    });
    expect(await getTemplate(mine.id, key)).toMatchObject({ name: mine.name, version: 1, archived: false });
  });

  it('lets a READER list, read and preview templates, but not create, update or archive one (FORBIDDEN, nothing stored)', async () => {
    const mine = await smsTemplate(key, 'Hello {{ name }}.');
    const reader = await buildApiKey(herald, 'READER', key);
    const before = await templateCount(key);

    expect(await templateCount(reader)).toBe(before);
    expect(await getTemplate(mine.id, reader)).toMatchObject({ id: mine.id, version: 1 });
    expect((await previewed({ templateId: mine.id, personalisation: { name: 'Ada' } }, reader)).body).toBe('Hello Ada.');

    const create = await herald.gql(
      CREATE,
      { input: { name: 'Not allowed', channel: 'SMS', variants: [{ locale: 'en', body: 'x' }] } },
      reader,
    );
    expectCode(create, 'FORBIDDEN');
    expect(create.data?.createTemplate ?? null).toBeNull();
    expectCode(await herald.gql(UPDATE, { input: { id: mine.id, name: 'Renamed' } }, reader), 'FORBIDDEN');
    expectCode(await herald.gql(ARCHIVE, { input: { id: mine.id } }, reader), 'FORBIDDEN');
    expect(await templateCount(key)).toBe(before);
    expect(await getTemplate(mine.id, key)).toMatchObject({ name: mine.name, version: 1, archived: false });
  });
});

describe('what is refused when a template is saved', () => {
  let key: string;
  beforeAll(async () => {
    key = (await buildTenant(herald)).adminKey;
  });

  /** Creates with `input` (an SMS named at random unless given), expecting exactly `expected`, and checks nothing was stored. */
  async function refusedCreate(input: Record<string, unknown>, expected: Partial<UserError>[]): Promise<UserError[]> {
    const before = await templateCount(key);
    const payload = await mutate(CREATE, { name: freshName('Refused'), channel: 'SMS', ...input }, key);
    expect(payload.template, JSON.stringify(input)).toBeNull();
    expect(payload.userErrors, JSON.stringify(input)).toEqual(expected.map((e) => ({ message: expect.any(String), ...e })));
    expect(await templateCount(key)).toBe(before);
    return payload.userErrors;
  }

  it('refuses a syntax error with TEMPLATE_SYNTAX naming the variant part, its line and column', async () => {
    const [error] = await refusedCreate({ variants: [{ locale: 'en', body: 'Hello {{ name }},\nyour code is {{ code }.' }] }, [
      { field: ['input', 'variants', '0', 'body'], code: 'TEMPLATE_SYNTAX' },
    ]);
    expect(error.message).toMatch(/^line 2, column \d+: /);
    expect(error.message).toMatch(/not closed/);
    // …and the same in an e-mail's subject and HTML, each under its own field.
    await refusedCreate(
      {
        channel: 'EMAIL',
        variants: [
          { locale: 'en', subject: 'Hi', body: 'fine' },
          { locale: 'fr', subject: 'Salut {% if x %}', body: 'bien', htmlBody: '<p>{{ name </p>' },
        ],
      },
      [
        { field: ['input', 'variants', '1', 'subject'], code: 'TEMPLATE_SYNTAX', message: expect.stringMatching(/^line 1, column \d+: /) },
        { field: ['input', 'variants', '1', 'htmlBody'], code: 'TEMPLATE_SYNTAX', message: expect.stringMatching(/^line 1, column \d+: /) },
      ],
    );
  });

  it('refuses an unknown filter as TEMPLATE_SYNTAX naming it', async () => {
    const [error] = await refusedCreate({ variants: [{ locale: 'en', body: 'Hi {{ name | shout }}' }] }, [
      { field: ['input', 'variants', '0', 'body'], code: 'TEMPLATE_SYNTAX' },
    ]);
    expect(error.message).toMatch(/^line 1, column \d+: .*shout/);
  });

  it('refuses include, render and layout, which would load other templates or files', async () => {
    for (const tag of ["{% include 'x' %}", "{% render 'x' %}", "{% layout 'x' %}"]) {
      const [error] = await refusedCreate({ variants: [{ locale: 'en', body: `Before ${tag} after` }] }, [
        { field: ['input', 'variants', '0', 'body'], code: 'TEMPLATE_SYNTAX' },
      ]);
      expect(error.message).toMatch(/not available/);
    }
  });

  it('refuses a locale that is not a BCP 47 tag, and the same locale twice in different case', async () => {
    const [invalid] = await refusedCreate(
      {
        variants: [
          { locale: 'en', body: 'Hello' },
          { locale: 'not a locale!', body: 'Huh' },
        ],
      },
      [{ field: ['input', 'variants', '1', 'locale'], code: 'INVALID_INPUT' }],
    );
    expect(invalid.message).toContain('not a locale!');
    const [twice] = await refusedCreate(
      {
        variants: [
          { locale: 'en', body: 'Hello' },
          { locale: 'fr-CA', body: 'Bonjour' },
          { locale: 'fr-ca', body: 'Allô' },
        ],
      },
      [{ field: ['input', 'variants', '2', 'locale'], code: 'INVALID_INPUT' }],
    );
    expect(twice.message).toContain('fr-CA');
  });

  it('refuses a defaultLocale without a variant, and an invalid one', async () => {
    const [missing] = await refusedCreate({ defaultLocale: 'de', variants: [{ locale: 'en', body: 'Hello' }] }, [
      { field: ['input', 'defaultLocale'], code: 'INVALID_INPUT' },
    ]);
    expect(missing.message).toMatch(/de/);
    await refusedCreate({ defaultLocale: 'not a locale!', variants: [{ locale: 'en', body: 'Hello' }] }, [
      { field: ['input', 'defaultLocale'], code: 'INVALID_INPUT' },
    ]);
  });

  it('refuses an e-mail without a subject, and a subject or HTML on SMS', async () => {
    await refusedCreate({ channel: 'EMAIL', variants: [{ locale: 'en', body: 'No subject' }] }, [
      { field: ['input', 'variants', '0', 'subject'], code: 'INVALID_INPUT' },
    ]);
    await refusedCreate({ channel: 'EMAIL', variants: [{ locale: 'en', subject: '   ', body: 'Blank subject' }] }, [
      { field: ['input', 'variants', '0', 'subject'], code: 'INVALID_INPUT' },
    ]);
    await refusedCreate({ channel: 'SMS', variants: [{ locale: 'en', subject: 'Hi', body: 'Text' }] }, [
      { field: ['input', 'variants', '0', 'subject'], code: 'INVALID_INPUT' },
    ]);
    await refusedCreate({ channel: 'WHATSAPP', variants: [{ locale: 'en', body: 'Text', htmlBody: '<p>Text</p>' }] }, [
      { field: ['input', 'variants', '0', 'htmlBody'], code: 'INVALID_INPUT' },
    ]);
  });

  it('refuses an empty list of variants, a blank body and a blank name', async () => {
    await refusedCreate({ variants: [] }, [{ field: ['input', 'variants'], code: 'INVALID_INPUT' }]);
    await refusedCreate({ variants: [{ locale: 'en', body: '  ' }] }, [
      { field: ['input', 'variants', '0', 'body'], code: 'INVALID_INPUT' },
    ]);
    await refusedCreate({ name: '   ', variants: [{ locale: 'en', body: 'Hi' }] }, [{ field: ['input', 'name'], code: 'INVALID_INPUT' }]);
  });

  it('keeps locales canonical (fr-ca is saved as fr-CA)', async () => {
    const made = await saved(
      CREATE,
      {
        name: freshName('Canonical'),
        channel: 'SMS',
        defaultLocale: 'EN',
        variants: [
          { locale: 'en', body: 'Hello' },
          { locale: 'fr-ca', body: 'Allô' },
        ],
      },
      key,
    );
    expect(made.current.defaultLocale).toBe('en');
    expect(made.current.variants.map((v) => v.locale)).toEqual(['en', 'fr-CA']);
  });

  it('refuses an update that does not parse, keeping the version as it was', async () => {
    const made = await smsTemplate(key, 'Hello {{ name }}');
    const payload = await mutate(UPDATE, { id: made.id, variants: [{ locale: 'en', body: 'Hello\n\n{% if name %}' }] }, key);
    expect(payload.template).toBeNull();
    expect(payload.userErrors).toEqual([
      { field: ['input', 'variants', '0', 'body'], code: 'TEMPLATE_SYNTAX', message: expect.stringMatching(/^line 3, column \d+: /) },
    ]);
    // A defaultLocale the kept variants lack is refused too.
    expect((await mutate(UPDATE, { id: made.id, defaultLocale: 'fr' }, key)).userErrors).toMatchObject([
      { field: ['input', 'defaultLocale'], code: 'INVALID_INPUT' },
    ]);
    const found = (await getTemplate(made.id, key))!;
    expect(found).toMatchObject({ version: 1, current: { variants: [{ body: 'Hello {{ name }}' }] } });
    expect(found.versions).toHaveLength(1);
  });
});

describe('archiving and resetting', () => {
  it('archives a template: archived, listed under archived, no new version, and no sends with it', async () => {
    const { adminKey: key } = await buildTenant(herald);
    const made = await smsTemplate(key, 'Hello {{ name }}');
    const archived = await saved(ARCHIVE, { id: made.id }, key);
    expect(archived).toMatchObject({ id: made.id, archived: true, version: 1 });
    expect((await list({ filter: { archived: true } }, key)).edges.map((e) => e.node.id)).toEqual([made.id]);
    expect((await list({ filter: { archived: false } }, key)).edges.map((e) => e.node.id)).not.toContain(made.id);
    expect(await getTemplate(made.id, key)).toMatchObject({ archived: true, current: { variants: [{ body: 'Hello {{ name }}' }] } });

    const update = await mutate(UPDATE, { id: made.id, name: 'Revived' }, key);
    expect(update).toEqual({
      template: null,
      userErrors: [{ field: ['input', 'id'], code: 'TEMPLATE_ARCHIVED', message: expect.any(String) }],
    });
    expect(await getTemplate(made.id, key)).toMatchObject({ version: 1, name: made.name });

    const person = await buildRecipient(herald, { phone: freshPhone() }, key);
    const messagesBefore = await messageCount(key);
    const send = ok(
      await herald.gql(
        SEND,
        { input: { recipientId: person.id, channel: 'SMS', templateId: made.id, personalisation: { name: 'x' } } },
        key,
      ),
    );
    expect(send.sendNotification).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'templateId'], code: 'TEMPLATE_ARCHIVED', message: expect.any(String) }],
    });
    expect(await messageCount(key)).toBe(messagesBefore);
  });

  it("refuses to archive a built-in template and to reset one of the tenant's own, with INVALID_STATE", async () => {
    const { adminKey: key } = await buildTenant(herald);
    const builtIn = (await list({ filter: { channel: 'SMS' } }, key)).edges[0].node;
    expect(builtIn.builtIn).toBe('ORDER_STATUS');
    expect(await mutate(ARCHIVE, { id: builtIn.id }, key)).toEqual({
      template: null,
      userErrors: [{ field: ['input', 'id'], code: 'INVALID_STATE', message: expect.any(String) }],
    });
    expect(await getTemplate(builtIn.id, key)).toMatchObject({ archived: false, version: 1 });

    const own = await smsTemplate(key, 'Mine');
    expect(await mutate(RESET, { id: own.id }, key)).toEqual({
      template: null,
      userErrors: [{ field: ['input', 'id'], code: 'INVALID_STATE', message: expect.any(String) }],
    });
    expect(await getTemplate(own.id, key)).toMatchObject({ version: 1 });
  });
});

describe("Herald's built-in order texts", () => {
  it('sends exactly the texts Herald always sent while the built-ins are untouched, recorded as their version 1', async () => {
    const { key, builtIn } = await shop();
    const jane = await orderCustomer(key, "Jane O'Hara <Shop & Co>");
    const payload = await updateOrderStatus({ orderId: '1042', customerId: jane.id, status: 'SHIPPED', note: 'Leaves today.' }, key);
    expect(payload.failures).toEqual([]);
    const sent = await settled(payload.messages, key);
    expect(Object.keys(sent).sort()).toEqual(['EMAIL', 'SMS', 'WHATSAPP']);
    for (const channel of ['SMS', 'EMAIL', 'WHATSAPP'] as const) {
      expect(sent[channel]).toMatchObject({
        status: 'SENT',
        templateVersion: 1,
        locale: 'en',
        template: { id: builtIn[channel].id, builtIn: 'ORDER_STATUS' },
      });
    }

    const line = 'Order 1042 is now SHIPPED. Leaves today.';
    expect(twilioTo(jane.phone).map((r) => r.form.Body)).toEqual([line]);
    expect(twilioTo(`whatsapp:${jane.whatsapp}`).map((r) => r.form.Body)).toEqual([line]);
    expect(sent.SMS).toMatchObject({ body: line, encoding: 'GSM7', segments: 1 });

    const mails = sendgridTo(jane.email);
    expect(mails).toHaveLength(1);
    const mail = mails[0].body!;
    expect(mail.subject ?? mail.personalizations![0].subject).toBe('Order 1042: SHIPPED');
    expect(mail.content).toEqual([
      { type: 'text/plain', value: `Hello Jane O'Hara <Shop & Co>,\n\n${line}\n\n— Sent by Herald` },
      {
        type: 'text/html',
        value:
          '<!doctype html><html><body style="font-family: sans-serif"><p>Hello Jane O&#39;Hara &lt;Shop &amp; Co&gt;,</p>' +
          '<p>Order <strong>1042</strong> is now <strong>SHIPPED</strong>.</p><p>Leaves today.</p></body></html>',
      },
    ]);

    // Without a note there is no trailing space; a note that looks like Liquid is sent as written.
    const bare = await updateOrderStatus({ orderId: '1043', customerId: jane.id, status: 'PAID' }, key);
    const liquidNote = await updateOrderStatus(
      { orderId: '1044', customerId: jane.id, status: 'PAID', note: 'Code {{ promo }} {% if x %}' },
      key,
    );
    await settled([...bare.messages, ...liquidNote.messages], key);
    expect(twilioTo(jane.phone).map((r) => r.form.Body)).toEqual([
      line,
      orderLine('1043', 'PAID'),
      orderLine('1044', 'PAID', 'Code {{ promo }} {% if x %}'),
    ]);
    const bareMail = sendgridTo(jane.email)[1].body!;
    expect(bareMail.content!.map((c) => c.value)).toEqual([
      `Hello Jane O'Hara <Shop & Co>,\n\n${orderLine('1043', 'PAID')}\n\n— Sent by Herald`,
      '<!doctype html><html><body style="font-family: sans-serif"><p>Hello Jane O&#39;Hara &lt;Shop &amp; Co&gt;,</p>' +
        '<p>Order <strong>1043</strong> is now <strong>PAID</strong>.</p></body></html>',
    ]);
  });

  it("sends the tenant's edited SMS text after updateTemplate, as version 2, while e-mail and WhatsApp keep Herald's words", async () => {
    const { key, builtIn } = await shop();
    const edited = await saved(
      UPDATE,
      { id: builtIn.SMS.id, variants: [{ locale: 'en', body: '{{ recipient.name }}: order {{ order.id }} → {{ order.status }}' }] },
      key,
    );
    expect(edited).toMatchObject({ id: builtIn.SMS.id, builtIn: 'ORDER_STATUS', version: 2 });

    const jane = await orderCustomer(key, 'Jane Doe');
    const payload = await updateOrderStatus({ orderId: '2001', customerId: jane.id, status: 'PACKED', note: 'Soon.' }, key);
    expect(payload.failures).toEqual([]);
    const sent = await settled(payload.messages, key);
    expect(sent.SMS).toMatchObject({
      status: 'SENT',
      body: 'Jane Doe: order 2001 → PACKED',
      templateVersion: 2,
      template: { id: builtIn.SMS.id },
      encoding: 'UCS2',
    });
    expect(twilioTo(jane.phone).map((r) => r.form.Body)).toEqual(['Jane Doe: order 2001 → PACKED']);
    expect(sent.WHATSAPP).toMatchObject({ status: 'SENT', body: orderLine('2001', 'PACKED', 'Soon.'), templateVersion: 1 });
    expect(twilioTo(`whatsapp:${jane.whatsapp}`).map((r) => r.form.Body)).toEqual([orderLine('2001', 'PACKED', 'Soon.')]);
    expect(sent.EMAIL).toMatchObject({ status: 'SENT', subject: 'Order 2001: PACKED', templateVersion: 1 });
    const [mail] = sendgridTo(jane.email);
    expect(mail.body!.content![0].value).toBe(`Hello Jane Doe,\n\n${orderLine('2001', 'PACKED', 'Soon.')}\n\n— Sent by Herald`);
  });

  it("sends Herald's text again after resetTemplate, which writes it as the next version", async () => {
    const { key, builtIn } = await shop();
    await saved(UPDATE, { id: builtIn.SMS.id, name: 'Our SMS', variants: [{ locale: 'en', body: 'Changed {{ order.id }}' }] }, key);
    const reset = await saved(RESET, { id: builtIn.SMS.id }, key);
    expect(reset).toMatchObject({ id: builtIn.SMS.id, version: 3, name: builtIn.SMS.name, builtIn: 'ORDER_STATUS' });
    expect(reset.current).toMatchObject({
      version: 3,
      defaultLocale: builtIn.SMS.current.defaultLocale,
      variants: builtIn.SMS.current.variants,
    });
    expect((await getTemplate(builtIn.SMS.id, key))!.versions!.map((v) => v.version)).toEqual([3, 2, 1]);

    const jane = await orderCustomer(key);
    const payload = await updateOrderStatus({ orderId: '3001', customerId: jane.id, status: 'DELIVERED' }, key);
    const sent = await settled(payload.messages, key);
    expect(sent.SMS).toMatchObject({ status: 'SENT', body: orderLine('3001', 'DELIVERED'), templateVersion: 3 });
    expect(twilioTo(jane.phone).map((r) => r.form.Body)).toEqual([orderLine('3001', 'DELIVERED')]);
  });

  it('fails only the channel whose edited template cannot be filled, with a FAILURE log saying so, and sends the others', async () => {
    const { key, builtIn } = await shop();
    await saved(UPDATE, { id: builtIn.SMS.id, variants: [{ locale: 'en', body: 'Order {{ order.id }}: {{ order.nope }}' }] }, key);
    const jane = await orderCustomer(key);
    const payload = await updateOrderStatus({ orderId: '4001', customerId: jane.id, status: 'SHIPPED' }, key);
    expect(payload.messages.map((m) => m.channel).sort()).toEqual(['EMAIL', 'WHATSAPP']);
    expect(payload.failures).toMatchObject([{ outcome: 'FAILURE', channel: 'SMS' }]);
    expect(payload.failures[0].reason).toMatch(/template/);
    expect(payload.failures[0].reason).toMatch(/order\.nope/);

    const sent = await settled(payload.messages, key);
    expect(sent.WHATSAPP.status).toBe('SENT');
    expect(sent.EMAIL.status).toBe('SENT');
    expect(twilioTo(`whatsapp:${jane.whatsapp}`)).toHaveLength(1);
    expect(sendgridTo(jane.email)).toHaveLength(1);
    expect(twilioTo(jane.phone)).toEqual([]);
  });
});

describe("Herald's built-in invoice DM", () => {
  async function invoiceCustomer(key: string, displayName: string) {
    const handle = `tpl${randomBytes(4).toString('hex')}`;
    const user = twitterFake.addUser(handle);
    const person = await buildRecipient(herald, { kind: 'CUSTOMER', displayName, twitterHandle: handle }, key);
    return { id: person.id as string, userId: user.id };
  }
  const invoice = (number: string) => ({
    number,
    amountDue: '1250',
    currency: 'USD',
    dueDate: '2026-12-01',
    url: 'https://billing.example.com/inv/1',
  });
  const dmsTo = (userId: string) => twitterFake.dms.filter((d) => d.participantId === userId).map((d) => d.text);

  async function sendInvoiceDM(key: string, input: Record<string, unknown>) {
    return ok(await herald.gql(SEND_INVOICE, { input }, key)).sendInvoiceDM as { message: Message | null; userErrors: UserError[] };
  }

  it("DMs Herald's own words by default, and the tenant's after it edits the invoice-due template", async () => {
    const { key, builtIn } = await shop();
    const ada = await invoiceCustomer(key, 'Ada Lovelace');
    const first = await sendInvoiceDM(key, { customerId: ada.id, invoice: invoice('INV-1') });
    expect(first.userErrors).toEqual([]);
    const firstSent = (await settled([first.message!], key)).TWITTER_DM;
    const herald1 =
      'Hi Ada Lovelace, your invoice INV-1 for $1,250.00 is due on December 1, 2026.\nView and pay it here: https://billing.example.com/inv/1';
    expect(dmsTo(ada.userId)).toEqual([herald1]);
    expect(firstSent).toMatchObject({
      status: 'SENT',
      body: herald1,
      templateVersion: 1,
      template: { id: builtIn.TWITTER_DM.id, builtIn: 'INVOICE_DUE' },
      encoding: null,
      segments: null,
    });

    // In yen, and without a URL: one line, as before.
    const yen = await sendInvoiceDM(key, {
      customerId: ada.id,
      invoice: { number: 'INV-Y', amountDue: '5000', currency: 'JPY', dueDate: '2026-03-15', url: null },
    });
    expect(yen.userErrors).toEqual([]);
    await settled([yen.message!], key);
    expect(dmsTo(ada.userId)[1]).toBe('Hi Ada Lovelace, your invoice INV-Y for ¥5,000 is due on March 15, 2026.');

    const edited = await saved(
      UPDATE,
      {
        id: builtIn.TWITTER_DM.id,
        variants: [
          { locale: 'en', body: 'Dear {{ recipient.name }}: {{ invoice.amount }} ({{ invoice.number }}) by {{ invoice.dueOn }}.' },
        ],
      },
      key,
    );
    expect(edited.version).toBe(2);
    const second = await sendInvoiceDM(key, { customerId: ada.id, invoice: invoice('INV-2') });
    expect(second.userErrors).toEqual([]);
    const secondSent = (await settled([second.message!], key)).TWITTER_DM;
    expect(dmsTo(ada.userId).slice(2)).toEqual(['Dear Ada Lovelace: $1,250.00 (INV-2) by December 1, 2026.']);
    expect(secondSent).toMatchObject({ status: 'SENT', templateVersion: 2 });
  });

  it('refuses an invoice DM its edited template cannot fill with MISSING_PERSONALISATION, and sends nothing', async () => {
    const { key, builtIn } = await shop();
    await saved(UPDATE, { id: builtIn.TWITTER_DM.id, variants: [{ locale: 'en', body: 'Pay {{ invoice.nope }}' }] }, key);
    const bob = await invoiceCustomer(key, 'Bob');
    const before = await messageCount(key);
    const refused = await sendInvoiceDM(key, { customerId: bob.id, invoice: invoice('INV-9') });
    expect(refused.message).toBeNull();
    expect(refused.userErrors).toMatchObject([{ code: 'MISSING_PERSONALISATION' }]);
    expect(refused.userErrors[0].message).toMatch(/invoice\.nope/);
    expect(await messageCount(key)).toBe(before);
    expect(dmsTo(bob.userId)).toEqual([]);
  });
});

describe('previewTemplate', () => {
  let key: string;
  beforeAll(async () => {
    key = (await buildTenant(herald)).adminKey;
  });

  it('counts a GSM-7 text of 160 characters as 1 segment, 161 as 2, 306 as 2 and 307 as 3', async () => {
    expect(await smsFigures('a'.repeat(160), key)).toEqual({
      encoding: 'GSM7',
      characters: 160,
      segments: 1,
      unicodeCharacters: [],
      billableUnits: 1,
    });
    expect(await smsFigures('a'.repeat(161), key)).toMatchObject({ encoding: 'GSM7', characters: 161, segments: 2, billableUnits: 2 });
    expect(await smsFigures('a'.repeat(306), key)).toMatchObject({ characters: 306, segments: 2 });
    // Twilio bills 153 characters per part of a long GSM-7 text, so 307 need three.
    expect(await smsFigures('a'.repeat(307), key)).toMatchObject({ characters: 307, segments: 3, billableUnits: 3 });
  });

  it('counts a GSM-7 extension character (€, or { from a value) as two', async () => {
    expect(await smsFigures('€'.repeat(80), key)).toEqual({
      encoding: 'GSM7',
      characters: 160,
      segments: 1,
      unicodeCharacters: [],
      billableUnits: 1,
    });
    expect(await smsFigures('€'.repeat(81), key)).toMatchObject({ encoding: 'GSM7', characters: 162, segments: 2 });
    expect(await smsFigures('{{ text }}', key, { text: '{'.repeat(80) })).toMatchObject({ encoding: 'GSM7', characters: 160, segments: 1 });
    expect(await smsFigures('{{ text }}', key, { text: '{'.repeat(81) })).toMatchObject({ encoding: 'GSM7', characters: 162, segments: 2 });
  });

  it('says which characters force UCS-2: a curly apostrophe, an emoji (two units), and 71 of them making 2 segments', async () => {
    expect(await smsFigures('I’m here', key)).toEqual({
      encoding: 'UCS2',
      characters: 8,
      segments: 1,
      unicodeCharacters: ['’'],
      billableUnits: 1,
    });
    expect(await smsFigures('😀', key)).toMatchObject({ encoding: 'UCS2', characters: 2, segments: 1, unicodeCharacters: ['😀'] });
    expect(await smsFigures('Ж'.repeat(70), key)).toMatchObject({ encoding: 'UCS2', characters: 70, segments: 1 });
    expect(await smsFigures('Ж'.repeat(71), key)).toMatchObject({
      encoding: 'UCS2',
      characters: 71,
      segments: 2,
      unicodeCharacters: ['Ж'],
    });
    expect(await smsFigures('I’m “here” ’', key)).toMatchObject({ unicodeCharacters: ['’', '“', '”'] });
  });

  it("bills segments × the price multiplier of the tenant's default gateway for the channel", async () => {
    const { adminKey: pricey } = await buildTenant(herald);
    const added = ok(
      await herald.gql(
        ADD_GATEWAY,
        {
          input: {
            channel: 'SMS',
            provider: 'TWILIO',
            name: 'premium-route',
            makeDefault: true,
            priceMultiplier: 3,
            credentials: JSON.stringify({ accountSid: twilioAccount.accountSid, authToken: twilioAccount.authToken, from: SMS_FROM }),
          },
        },
        pricey,
      ),
    ).addChannelGateway;
    expect(added).toMatchObject({ gateway: { provider: 'TWILIO', isDefault: true, priceMultiplier: 3 }, userErrors: [] });
    expect(await smsFigures('a'.repeat(161), pricey)).toMatchObject({ segments: 2, billableUnits: 6 });
    expect(await smsFigures('Hi', pricey)).toMatchObject({ segments: 1, billableUnits: 3 });
    // WhatsApp's default gateway has no multiplier set.
    expect((await previewed({ channel: 'WHATSAPP', body: 'a'.repeat(161) }, pricey)).sms).toMatchObject({ segments: 2, billableUnits: 2 });
  });

  it('renders an e-mail with the subject as text and the HTML with values escaped, and no SMS figures', async () => {
    const mail = await saved(
      CREATE,
      {
        name: freshName('Welcome'),
        channel: 'EMAIL',
        variants: [
          { locale: 'en', subject: 'Welcome, {{ name }}', body: 'Hello {{ name }}!', htmlBody: '<p>Hello <b>{{ name }}</b>!</p>' },
        ],
      },
      key,
    );
    const name = `Tom & "Jerry" <x> O'Neil`;
    expect(await previewed({ templateId: mail.id, personalisation: { name } }, key)).toEqual({
      locale: 'en',
      subject: `Welcome, ${name}`,
      body: `Hello ${name}!`,
      htmlBody: '<p>Hello <b>Tom &amp; &quot;Jerry&quot; &lt;x&gt; O&#39;Neil</b>!</p>',
      sms: null,
    });
    // A value cannot add a line (or a header) to the subject.
    expect((await previewed({ templateId: mail.id, personalisation: { name: 'Eve\r\nBcc: all@example.com' } }, key)).subject).toBe(
      'Welcome, Eve Bcc: all@example.com',
    );
  });

  it('previews an older version when asked, the latest otherwise, and refuses a version that does not exist', async () => {
    const made = await smsTemplate(key, 'Code {{ code }}');
    await saved(UPDATE, { id: made.id, variants: [{ locale: 'en', body: 'Your code is {{ code }}' }] }, key);
    expect((await previewed({ templateId: made.id, personalisation: { code: '12' } }, key)).body).toBe('Your code is 12');
    expect((await previewed({ templateId: made.id, version: 1, personalisation: { code: '12' } }, key)).body).toBe('Code 12');
    expect(await preview({ templateId: made.id, version: 99, personalisation: { code: '12' } }, key)).toEqual({
      preview: null,
      userErrors: [{ field: ['input', 'version'], code: 'NOT_FOUND', message: expect.any(String) }],
    });
  });

  it('refuses version 0 as a version that does not exist, naming the version rather than the template', async () => {
    const made = await smsTemplate(key, 'Code {{ code }}');
    expect(await getTemplate(made.id, key, 0)).toBeNull();
    const answer = await preview({ templateId: made.id, version: 0, personalisation: { code: '12' } }, key);
    expect(answer.preview).toBeNull();
    expect(answer.userErrors).toEqual([{ field: ['input', 'version'], code: 'NOT_FOUND', message: expect.stringMatching(/version 0/) }]);
  });

  it("refuses a preview that names another channel than the template's, gives both a template and text, or text without a channel", async () => {
    const made = await smsTemplate(key, 'Code {{ code }}');
    const refusal = async (input: Record<string, unknown>) => {
      const answer = await preview(input, key);
      expect(answer.preview, JSON.stringify(input)).toBeNull();
      return answer.userErrors.map((e) => [e.field, e.code]);
    };
    expect(await refusal({ templateId: made.id, channel: 'EMAIL', personalisation: { code: '1' } })).toEqual([
      [['input', 'channel'], 'WRONG_CHANNEL'],
    ]);
    expect(await refusal({ templateId: made.id, body: 'Other words' })).toEqual([[['input', 'templateId'], 'INVALID_INPUT']]);
    expect(await refusal({ body: 'No channel' })).toEqual([[['input', 'channel'], 'INVALID_INPUT']]);
    expect(await refusal({ channel: 'SMS' })).toEqual([[['input', 'body'], 'INVALID_INPUT']]);
    expect(await refusal({ channel: 'EMAIL', body: 'No subject' })).toEqual([[['input', 'subject'], 'INVALID_INPUT']]);
    // Fast but long: over SMS's 1,600 characters.
    expect(await refusal({ channel: 'SMS', body: '{% for i in (1..161) %}0123456789{% endfor %}' })).toEqual([
      [['input', 'body'], 'TOO_LONG'],
    ]);
  });

  it('refuses a value missing from personalisation with MISSING_PERSONALISATION naming it, never an empty string', async () => {
    const made = await smsTemplate(key, 'Hi {{ name }}, your total is {{ order.total }}');
    expect(await preview({ templateId: made.id, personalisation: { order: { total: 5 } } }, key)).toEqual({
      preview: null,
      userErrors: [
        { field: ['input', 'personalisation', 'name'], code: 'MISSING_PERSONALISATION', message: expect.stringContaining('name') },
      ],
    });
    expect(await preview({ templateId: made.id, personalisation: { name: 'Ann', order: {} } }, key)).toEqual({
      preview: null,
      userErrors: [
        {
          field: ['input', 'personalisation', 'order', 'total'],
          code: 'MISSING_PERSONALISATION',
          message: expect.stringContaining('order.total'),
        },
      ],
    });
    expect((await previewed({ templateId: made.id, personalisation: { name: 'Ann', order: { total: 5 } } }, key)).body).toBe(
      'Hi Ann, your total is 5',
    );
  });

  it("picks the locale's variant, else its language's, else the template's default locale", async () => {
    const made = await saved(
      CREATE,
      {
        name: freshName('Greeting'),
        channel: 'SMS',
        variants: [
          { locale: 'en', body: 'Hello' },
          { locale: 'fr', body: 'Bonjour' },
          { locale: 'pt-BR', body: 'Olá' },
        ],
      },
      key,
    );
    const say = async (locale?: string) => {
      const p = await previewed({ templateId: made.id, locale }, key);
      return [p.locale, p.body];
    };
    expect(await say('fr-CA')).toEqual(['fr', 'Bonjour']);
    expect(await say('fr')).toEqual(['fr', 'Bonjour']);
    expect(await say('pt-br')).toEqual(['pt-BR', 'Olá']);
    expect(await say('pt-PT')).toEqual(['en', 'Hello']);
    expect(await say('de')).toEqual(['en', 'Hello']);
    expect(await say()).toEqual(['en', 'Hello']);

    const french = await saved(
      CREATE,
      {
        name: freshName('Salut'),
        channel: 'SMS',
        defaultLocale: 'fr',
        variants: [
          { locale: 'en', body: 'Hi' },
          { locale: 'fr', body: 'Salut' },
        ],
      },
      key,
    );
    expect((await previewed({ templateId: french.id, locale: 'de' }, key)).body).toBe('Salut');
    expect((await preview({ templateId: french.id, locale: 'not a locale!' }, key)).userErrors).toMatchObject([
      { field: ['input', 'locale'], code: 'INVALID_INPUT' },
    ]);
  });
});

describe("the tenant's default locale", () => {
  const SET_LOCALE = `mutation($input: SetDefaultLocaleInput!) { setDefaultLocale(input: $input) {
    tenant { id defaultLocale } userErrors { field message code } } }`;
  const setLocale = async (locale: string, key: string) => ok(await herald.gql(SET_LOCALE, { input: { locale } }, key)).setDefaultLocale;

  it('is en until set, kept canonical when set, and not changed by something that is not a locale', async () => {
    const { adminKey: key } = await buildTenant(herald);
    expect(ok(await herald.gql('{ viewer { defaultLocale } }', undefined, key)).viewer.defaultLocale).toBe('en');
    expect(await setLocale('fr-ca', key)).toMatchObject({ tenant: { defaultLocale: 'fr-CA' }, userErrors: [] });
    expect(await setLocale('not a locale!', key)).toMatchObject({
      tenant: null,
      userErrors: [{ field: ['input', 'locale'], code: 'INVALID_INPUT' }],
    });
    expect(ok(await herald.gql('{ viewer { defaultLocale } }', undefined, key)).viewer.defaultLocale).toBe('fr-CA');
    const reader = await buildApiKey(herald, 'READER', key);
    expectCode(await herald.gql(SET_LOCALE, { input: { locale: 'de' } }, reader), 'FORBIDDEN');
  });

  it('is the locale of a send that names none, and the default locale of new templates and free text', async () => {
    const { adminKey: key } = await buildTenant(herald);
    const greeting = await saved(
      CREATE,
      {
        name: freshName('Greeting'),
        channel: 'SMS',
        variants: [
          { locale: 'en', body: 'Hello' },
          { locale: 'fr', body: 'Bonjour' },
        ],
      },
      key,
    );
    expect(greeting.current.defaultLocale).toBe('en');
    expect((await previewed({ templateId: greeting.id, locale: 'de' }, key)).body).toBe('Hello');

    await setLocale('fr', key);
    expect((await previewed({ templateId: greeting.id }, key)).body).toBe('Bonjour');
    expect((await previewed({ templateId: greeting.id, locale: 'en' }, key)).body).toBe('Hello');
    // A locale the template has no variant for still falls back to the template's own default.
    expect((await previewed({ templateId: greeting.id, locale: 'de' }, key)).body).toBe('Hello');
    expect((await previewed({ channel: 'SMS', body: 'Libre' }, key)).locale).toBe('fr');

    // A new template's defaultLocale is the tenant's, so it needs a variant for it.
    const french = await saved(CREATE, { name: freshName('Salut'), channel: 'SMS', variants: [{ locale: 'fr', body: 'Salut' }] }, key);
    expect(french.current.defaultLocale).toBe('fr');
    const english = await mutate(CREATE, { name: freshName('Hi'), channel: 'SMS', variants: [{ locale: 'en', body: 'Hi' }] }, key);
    expect(english.userErrors).toMatchObject([{ field: ['input', 'defaultLocale'], code: 'INVALID_INPUT' }]);
  });

  it("sends Herald's own order texts in it, from the built-in template's variant for that locale", async () => {
    const { adminKey: key } = await buildTenant(herald);
    const builtIn = (await list({ filter: { channel: 'SMS' } }, key)).edges.map((e) => e.node).find((t) => t.builtIn === 'ORDER_STATUS')!;
    await saved(
      UPDATE,
      {
        id: builtIn.id,
        variants: [
          { locale: 'en', body: builtIn.current.variants[0].body },
          { locale: 'fr', body: 'La commande {{ order.id }} est {{ order.status }}.' },
        ],
      },
      key,
    );
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', phone: freshPhone() }, key);
    expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: customer.id, channel: 'SMS' } }, key)).subscribe.userErrors).toEqual([]);
    const order = async (orderId: string) =>
      ok(await herald.gql(UPDATE_ORDER, { input: { customerId: customer.id, orderId, status: 'SHIPPED' } }, key)).updateOrderStatus
        .messages[0];

    expect(await order('A-1')).toMatchObject({ body: 'Order A-1 is now SHIPPED.', locale: 'en' });
    await setLocale('fr-FR', key);
    expect(await order('A-2')).toMatchObject({ body: 'La commande A-2 est SHIPPED.', locale: 'fr', templateVersion: 2 });
  });
});

describe('what a template cannot do', () => {
  let key: string;
  beforeAll(async () => {
    key = (await buildTenant(herald)).adminKey;
  });

  it('reads nothing but its values: constructor, prototype and __proto__ lookups are missing values, not code', async () => {
    const lookups: [string, string[]][] = [
      ['{{ name.constructor }}', ['name', 'constructor']],
      // The first part that is missing is the one named.
      ['{{ name.constructor.constructor }}', ['name', 'constructor']],
      ['{{ name.__proto__ }}', ['name', '__proto__']],
      ['{{ constructor }}', ['constructor']],
      ['{{ toString }}', ['toString']],
      ['{{ order.__proto__.polluted }}', ['order', '__proto__']],
    ];
    for (const [body, path] of lookups) {
      const answer = await preview({ channel: 'SMS', body, personalisation: { name: 'Ann', order: { id: 1 } } }, key);
      expect(answer, body).toEqual({
        preview: null,
        userErrors: [{ field: ['input', 'personalisation', ...path], code: 'MISSING_PERSONALISATION', message: expect.any(String) }],
      });
    }
    // A JSON body with a __proto__ key is turned away before any resolver runs…
    const poisoned = await herald.gql(
      PREVIEW,
      { input: { channel: 'SMS', body: 'x', personalisation: JSON.parse('{"__proto__": {"polluted": "yes"}}') } },
      key,
    );
    expect(poisoned.status).toBe(400);
    expect(poisoned.data).toBeUndefined();
    // …and one written in the query is a value like any other, lending nothing to other names or objects.
    const literal = (body: string) =>
      `{ previewTemplate(input: { channel: SMS, body: ${JSON.stringify(body)}, personalisation: { __proto__: { polluted: "yes" } } }) {
        preview { body } userErrors { field message code } } }`;
    expect(ok(await herald.gql(literal('x{{ polluted }}'), undefined, key)).previewTemplate).toEqual({
      preview: null,
      userErrors: [{ field: ['input', 'personalisation', 'polluted'], code: 'MISSING_PERSONALISATION', message: expect.any(String) }],
    });
    expect(ok(await herald.gql(literal('x{{ __proto__.polluted }}'), undefined, key)).previewTemplate.preview).toEqual({ body: 'xyes' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // Through a real send too: the recipient is only its name.
    const person = await buildRecipient(herald, { displayName: 'Ann', phone: freshPhone() }, key);
    const before = await messageCount(key);
    const send = ok(
      await herald.gql(SEND, { input: { recipientId: person.id, channel: 'SMS', body: 'Hi {{ recipient.constructor.name }}' } }, key),
    ).sendNotification;
    expect(send).toEqual({
      message: null,
      userErrors: [
        {
          field: ['input', 'personalisation', 'recipient', 'constructor'],
          code: 'MISSING_PERSONALISATION',
          message: expect.any(String),
        },
      ],
    });
    expect(await messageCount(key)).toBe(before);
  });

  it('saves a runaway loop, but previewing or sending it stops with a userError instead of hanging, storing nothing', async () => {
    const loop = await smsTemplate(key, '{% for i in (1..100000000) %}x{% endfor %}');
    expect(loop.version).toBe(1);

    let started = Date.now();
    const answer = await preview({ templateId: loop.id }, key);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answer.preview).toBeNull();
    expect(answer.userErrors).toMatchObject([{ field: ['input', 'body'], code: 'INVALID_INPUT' }]);
    expect(answer.userErrors[0].message).toMatch(/loop/);

    const person = await buildRecipient(herald, { phone: freshPhone() }, key);
    const before = await messageCount(key);
    started = Date.now();
    const send = ok(
      await herald.gql(SEND, { input: { recipientId: person.id, channel: 'SMS', templateId: loop.id } }, key),
    ).sendNotification;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(send.message).toBeNull();
    expect(send.userErrors).toMatchObject([{ field: ['input', 'body'], code: 'INVALID_INPUT' }]);
    expect(await messageCount(key)).toBe(before);

    // The server is as responsive as before.
    expect((await previewed({ channel: 'SMS', body: 'still here' }, key)).body).toBe('still here');
  });
});
