// HERALD_STATEMENT_TIMEOUT_MS and HERALD_BULK_STATEMENT_TIMEOUT_MS on PostgreSQL (PGlite has
// no statement_timeout to speak of: one process, one connection). A test connection holds a
// lock for real, so Herald's statements wait on it as they would behind a slow transaction.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { createPostgresDatabase } from './helpers/process.js';

const STATEMENT_TIMEOUT_MS = 300;
const BULK_STATEMENT_TIMEOUT_MS = 20_000;
/** How long the test connection holds its lock: past the API timeout, well within the bulk one. */
const HELD_MS = 1_500;

const UPDATE_RECIPIENT = `mutation($input: UpdateRecipientInput!) { updateRecipient(input: $input) { recipient { id displayName } userErrors { code } } }`;
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { code } } }`;
const NOTIFY = `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected userErrors { code } } }`;

describe('statement timeouts on PostgreSQL', () => {
  let herald: TestHerald;
  let blocker: pg.Client;

  beforeAll(async () => {
    herald = await startTestHerald({
      database: await createPostgresDatabase('statement timeouts'),
      role: 'api',
      env: {
        HERALD_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        HERALD_BULK_STATEMENT_TIMEOUT_MS: String(BULK_STATEMENT_TIMEOUT_MS),
      },
    });
    blocker = new pg.Client({ connectionString: herald.database.env.DATABASE_URL });
    await blocker.connect();
  });
  afterAll(async () => {
    await blocker?.end();
    await herald?.stop();
  });

  /** The log line of an error, found by the id the caller was shown. */
  const loggedError = (errorId: string) => herald.logs.map((line) => JSON.parse(line)).find((line) => line.errorId === errorId);
  /**
   * A cancelled statement reaches the caller as an error with an id (a 503 asking to come
   * back, or an internal error), never a hang; the log line under that id has SQLSTATE 57014.
   */
  const expectCancelled = (result: Awaited<ReturnType<TestHerald['gql']>>) => {
    const error = result.errors?.[0];
    expect(error?.extensions?.code, JSON.stringify(result)).toMatch(/^(SERVICE_UNAVAILABLE|INTERNAL_SERVER_ERROR)$/);
    const line = JSON.stringify(loggedError(error!.extensions!.errorId));
    expect(line).toContain('"57014"');
    expect(line).toContain('canceling statement due to statement timeout');
  };

  it('cancels a statement waiting past HERALD_STATEMENT_TIMEOUT_MS: the caller gets an error with an id, the log SQLSTATE 57014, and the pool serves on', async () => {
    const name = `Held ${Date.now()}`;
    const recipient = await buildRecipient(herald, { kind: 'STAFF', displayName: name });
    await blocker.query('begin');
    expect((await blocker.query('select 1 from recipients where display_name = $1 for update', [name])).rowCount).toBe(1);

    const started = performance.now();
    const cut = await herald.gql(UPDATE_RECIPIENT, { input: { id: recipient.id, displayName: 'After' } });
    const waited = performance.now() - started;
    await blocker.query('rollback');

    expectCancelled(cut);
    expect(waited).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(HELD_MS * 2);

    // Every connection of the pool still works: more requests at once than the pool holds.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => herald.gql(UPDATE_RECIPIENT, { input: { id: recipient.id, displayName: `After ${i}` } })),
    );
    for (const result of results) expect(ok(result).updateRecipient.userErrors).toEqual([]);
  });

  it('gives a bulk write (notifyBillingCycle) HERALD_BULK_STATEMENT_TIMEOUT_MS while a single send waiting as long is cut', async () => {
    const customers = await Promise.all(
      [1, 2].map((i) =>
        buildRecipient(herald, {
          kind: 'CUSTOMER',
          displayName: `Customer ${i}`,
          twitterHandle: `payer${i}_${randomBytes(3).toString('hex')}`,
        }),
      ),
    );
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550123' });
    const invoice = (n: number) => ({
      number: `INV-${Date.now()}-${n}`,
      amountDue: '10.00',
      currency: 'USD',
      dueDate: '2026-12-01',
      url: 'https://billing.example.com/i/1',
    });

    // Every insert into messages waits behind this lock until it is released.
    await blocker.query('begin');
    await blocker.query('lock table messages in share mode');
    const release = new Promise<void>((resolve) => setTimeout(resolve, HELD_MS)).then(() => blocker.query('commit'));

    const started = performance.now();
    const [bulk, single] = await Promise.all([
      herald.gql(NOTIFY, {
        input: { cycleId: `cycle-${Date.now()}`, invoices: customers.map((c, i) => ({ customerId: c.id, invoice: invoice(i) })) },
      }),
      herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'Waits too long' } }),
    ]);
    await release;

    expect(ok(bulk).notifyBillingCycle).toEqual({ queued: 2, rejected: 0, userErrors: [] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(HELD_MS - 50);
    expectCancelled(single);

    // With the lock gone, the same send goes through.
    expect(ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'On time' } })).sendSms.message.status).toBe('QUEUED');
  });
});
