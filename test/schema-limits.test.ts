// Limits a partner developer reads in the schema (GraphiQL, GraphQL Code Generator): the
// descriptions of the fields they govern state the numbers the validators enforce; a value a
// scalar cannot read says what was expected; an IDEMPOTENCY_CONFLICT names what the key made.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_WINDOW_HOURS, MAX_INVOICES_PER_CYCLE_CALL, MAX_SCHEDULE_AHEAD_DAYS } from '../src/domain/limits.js';
import { IDEMPOTENCY_KEY_MAX_LENGTH } from '../src/graphql/common.types.js';
import { DATE_TIME_EXPECTED } from '../src/graphql/scalars.js';
import { MAX_SMS_LENGTH } from '../src/modules/messages/messages.types.js';
import { buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

let herald: TestHerald;

// No worker: what is accepted stays QUEUED, which is all these tests look at.
beforeAll(async () => {
  herald = await startTestHerald({ role: 'api' });
});
afterAll(async () => {
  await herald?.stop();
});

const USER_ERRORS = 'userErrors { field message code existingId }';
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } ${USER_ERRORS} } }`;
const SEND_INVOICE = `mutation($input: SendInvoiceDMInput!) { sendInvoiceDM(input: $input) { message { id } ${USER_ERRORS} } }`;
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) {
  messages { id } failures { id } ${USER_ERRORS} } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { userErrors { code } } }`;

const freshKey = () => `key-${randomBytes(6).toString('hex')}`;
let nextLine = 100;
const freshPhone = () => `+1415555${String(nextLine++).padStart(4, '0')}`;
const invoice = (number: string) => ({ number, amountDue: '125.40', currency: 'USD', dueDate: '2026-12-01' });

/** Each input field's description, by field name. */
async function inputDescriptions(type: string): Promise<Record<string, string>> {
  const data = ok(await herald.gql(`query($name: String!) { __type(name: $name) { inputFields { name description } } }`, { name: type }));
  return Object.fromEntries(
    data.__type.inputFields.map((f: { name: string; description: string | null }) => [f.name, f.description ?? '']),
  );
}

describe('limits in the SDL descriptions', () => {
  it('states the SMS length, sendAt format and horizon, and the idempotency key rule and window on SendSmsInput', async () => {
    const fields = await inputDescriptions('SendSmsInput');
    expect(fields.message).toContain(`at most ${MAX_SMS_LENGTH} characters`);
    expect(fields.sendAt).toContain('ISO 8601 date-time with offset, e.g. 2026-12-01T09:00:00Z');
    expect(fields.sendAt).toContain(`at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`);
    expect(fields.idempotencyKey).toContain(`1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`);
    expect(fields.idempotencyKey).toContain(`within ${IDEMPOTENCY_WINDOW_HOURS} hours`);
    expect(fields.idempotencyKey).toContain('existingId');
  });

  it('states the key rule and window on every mutation that takes an idempotencyKey', async () => {
    for (const type of ['SendInvoiceDMInput', 'UpdateOrderStatusInput']) {
      const { idempotencyKey } = await inputDescriptions(type);
      expect(idempotencyKey, type).toContain(`1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`);
      expect(idempotencyKey, type).toContain(`within ${IDEMPOTENCY_WINDOW_HOURS} hours`);
    }
  });

  it('states the batch size of a billing run and the formats of contact fields', async () => {
    expect((await inputDescriptions('NotifyBillingCycleInput')).invoices).toContain(
      `At most ${MAX_INVOICES_PER_CYCLE_CALL} invoices per call`,
    );
    const contact = await inputDescriptions('CreateRecipientInput');
    expect(contact.phone).toContain('+14155550123');
    expect(contact.email).toContain('jane@example.com');
    expect(contact.displayName).toMatch(/at most \d+ characters/);
  });

  it('holds what the description says: the SMS length and key length are enforced at exactly those numbers', async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
    const longest = ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'x'.repeat(MAX_SMS_LENGTH) } })).sendSms;
    expect(longest.userErrors).toEqual([]);
    const over = ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'x'.repeat(MAX_SMS_LENGTH + 1) } })).sendSms;
    expect(over.userErrors).toEqual([
      {
        field: ['input', 'message'],
        message: `message must be at most ${MAX_SMS_LENGTH} characters`,
        code: 'INVALID_INPUT',
        existingId: null,
      },
    ]);
    const keyTooLong = 'k'.repeat(IDEMPOTENCY_KEY_MAX_LENGTH + 1);
    const refused = ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'Hi', idempotencyKey: keyTooLong } })).sendSms;
    expect(refused.userErrors.map((e: { field: string[] }) => e.field)).toEqual([['input', 'idempotencyKey']]);
    const keyLongest = 'k'.repeat(IDEMPOTENCY_KEY_MAX_LENGTH);
    expect(
      ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'Hi', idempotencyKey: keyLongest } })).sendSms.userErrors,
    ).toEqual([]);
  });

  it('describes UserError.existingId as the contract does', async () => {
    const data = ok(await herald.gql(`{ __type(name: "UserError") { fields { name description type { name } } } }`));
    expect(data.__type.fields).toContainEqual({
      name: 'existingId',
      description: 'For IDEMPOTENCY_CONFLICT: the id of what the key already made.',
      type: { name: 'ID' },
    });
  });
});

describe('a DateTime it cannot read', () => {
  it('says what it expected when sendAt is a variable', async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
    const result = await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'Later', sendAt: 'tomorrow' } });
    expect(result.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors![0].message).toBe(`Variable "$input" got an invalid value at "input.sendAt"; ${DATE_TIME_EXPECTED}`);
  });

  it('says what it expected when sendAt is written in the query', async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
    const result = await herald.gql(
      `mutation { sendSms(input: { clientId: "${client.id}", message: "Later", sendAt: "tomorrow" }) { message { id } ${USER_ERRORS} } }`,
    );
    expect(result.status).toBe(400);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].message).toBe(`Expected value of type "DateTime", found "tomorrow"; ${DATE_TIME_EXPECTED}`);
  });

  it('says the same for a date without a time or offset, and for a filter', async () => {
    for (const sendAt of ['2026-12-01', '2026-12-01T09:00:00', 1764579600000]) {
      const result = await herald.gql(SEND_SMS, { input: { clientId: 'rcp_x', message: 'Later', sendAt } });
      expect(result.errors![0].message, String(sendAt)).toContain(DATE_TIME_EXPECTED);
    }
    const filtered = await herald.gql(`query($f: MessageFilter) { messages(filter: $f) { totalCount } }`, {
      f: { createdAfter: 'yesterday' },
    });
    expect(filtered.errors![0].message).toBe(`Variable "$f" got an invalid value at "f.createdAfter"; ${DATE_TIME_EXPECTED}`);
  });

  it('still takes a date-time with an offset, answered in UTC', async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
    const sent = ok(
      await herald.gql(SEND_SMS.replace('status', 'status scheduledAt'), {
        input: { clientId: client.id, message: 'Later', sendAt: '2099-01-01T10:00:00+01:00' },
      }),
    ).sendSms;
    // More than a year ahead: refused by the service, after the scalar read it.
    expect(sent.userErrors.map((e: { code: string }) => e.code)).toEqual(['INVALID_INPUT']);
    const soon = new Date(Date.now() + 3_600_000);
    // The same instant written at +02:00: the wall time two hours on, date included.
    const offset = `${new Date(soon.getTime() + 2 * 3_600_000).toISOString().slice(0, 19)}+02:00`;
    const scheduled = ok(
      await herald.gql(SEND_SMS.replace('status', 'status scheduledAt'), {
        input: { clientId: client.id, message: 'Soon', sendAt: offset },
      }),
    ).sendSms;
    expect(scheduled.userErrors).toEqual([]);
    expect(new Date(scheduled.message.scheduledAt).getTime()).toBe(new Date(offset).getTime());
    expect(scheduled.message.scheduledAt).toMatch(/Z$/);
  });
});

describe('IDEMPOTENCY_CONFLICT names what the key already made', () => {
  it('sendSms: existingId is the first message', async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
    const idempotencyKey = freshKey();
    const first = ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'First', idempotencyKey } })).sendSms;
    expect(first.userErrors).toEqual([]);
    const again = ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'Second', idempotencyKey } })).sendSms;
    expect(again).toEqual({
      message: null,
      userErrors: [
        {
          field: ['input', 'idempotencyKey'],
          message: `this idempotencyKey was used within ${IDEMPOTENCY_WINDOW_HOURS} h for a different request`,
          code: 'IDEMPOTENCY_CONFLICT',
          existingId: first.message.id,
        },
      ],
    });
    const message = ok(
      await herald.gql(`query($id: ID!) { message(id: $id) { id body } }`, { id: again.userErrors[0].existingId }),
    ).message;
    expect(message).toEqual({ id: first.message.id, body: 'First' });
  });

  it('sendInvoiceDM: existingId is the first DM', async () => {
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', twitterHandle: `c_${randomBytes(4).toString('hex')}` });
    const idempotencyKey = freshKey();
    const first = ok(
      await herald.gql(SEND_INVOICE, { input: { customerId: customer.id, invoice: invoice('INV-1'), idempotencyKey } }),
    ).sendInvoiceDM;
    expect(first.userErrors).toEqual([]);
    const again = ok(
      await herald.gql(SEND_INVOICE, { input: { customerId: customer.id, invoice: invoice('INV-2'), idempotencyKey } }),
    ).sendInvoiceDM;
    expect(again.message).toBeNull();
    expect(again.userErrors).toMatchObject([{ code: 'IDEMPOTENCY_CONFLICT', existingId: first.message.id }]);
  });

  it('updateOrderStatus: existingId is the first message, or the first failure when none was queued', async () => {
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', phone: freshPhone() });
    ok(await herald.gql(SUBSCRIBE, { input: { recipientId: customer.id, channel: 'SMS' } }));
    const orderId = `ord-${randomBytes(4).toString('hex')}`;
    const idempotencyKey = freshKey();
    const first = ok(
      await herald.gql(UPDATE_ORDER, { input: { orderId, customerId: customer.id, status: 'PACKED', idempotencyKey } }),
    ).updateOrderStatus;
    expect(first.messages).toHaveLength(1);
    const again = ok(
      await herald.gql(UPDATE_ORDER, { input: { orderId, customerId: customer.id, status: 'SHIPPED', idempotencyKey } }),
    ).updateOrderStatus;
    expect(again).toMatchObject({
      messages: [],
      failures: [],
      userErrors: [{ code: 'IDEMPOTENCY_CONFLICT', existingId: first.messages[0].id }],
    });

    // Not subscribed to anything: the first call queues nothing and writes one failure.
    const unsubscribed = await buildRecipient(herald, { kind: 'CUSTOMER', phone: freshPhone() });
    const otherKey = freshKey();
    const failed = ok(
      await herald.gql(UPDATE_ORDER, { input: { orderId, customerId: unsubscribed.id, status: 'PACKED', idempotencyKey: otherKey } }),
    ).updateOrderStatus;
    expect(failed).toMatchObject({ messages: [], failures: [{ id: expect.any(String) }] });
    const conflict = ok(
      await herald.gql(UPDATE_ORDER, { input: { orderId, customerId: unsubscribed.id, status: 'SHIPPED', idempotencyKey: otherKey } }),
    ).updateOrderStatus;
    expect(conflict.userErrors).toMatchObject([{ code: 'IDEMPOTENCY_CONFLICT', existingId: failed.failures[0].id }]);
  });
});
