// Accepting a message is one statement (message + pg-boss job + logs as CTEs, see
// QueueOutbox.write). Its job must be the job pg-boss's own send() would have written,
// so the queue's retry, expiry, retention and heartbeat settings hold for it too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromJsonRow, toJsonRows } from '../src/db/json-rows.js';
import { messages } from '../src/db/schema/index.js';
import { DISPATCH_QUEUE, jobInsertFromMessages } from '../src/dispatch/queue.js';
import { fromGlobalId, timeOfUuidv7, uuidv7 } from '../src/lib/ids.js';
import { buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status scheduledAt } userErrors { code message } } }`;

// Everything about a job that its queue and its send options decide.
const JOB_COLUMNS = `name, data, priority, retry_limit, retry_delay, retry_backoff, retry_delay_max, expire_seconds, deletion_seconds,
  policy, heartbeat_seconds, singleton_key, singleton_on, group_id, dead_letter, blocked, blocking, pending_dependencies,
  extract(epoch from keep_until - start_after)::int as kept_seconds, start_after`;

let herald: TestHerald;

beforeAll(async () => {
  // A sandbox gateway, no worker delay: jobs are read before and after they run alike.
  herald = await startTestHerald();
}, 60_000);

afterAll(async () => herald?.stop());

async function jobOf(messageId: string): Promise<Record<string, unknown>> {
  const rows = await herald.handle.prepared<Record<string, unknown>>('test_job_of', `select ${JOB_COLUMNS} from pgboss.job where data->>'messageId' = $1`, [messageId]);
  expect(rows).toHaveLength(1);
  return rows[0];
}

describe('the job written with an accepted message', () => {
  it("equals the job pg-boss's own send() writes for the same data (queue settings, retention, data)", async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550170' });
    const sent = ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'One statement' } })).sendSms;
    expect(sent.userErrors).toEqual([]);
    const messageId = fromGlobalId(sent.message.id, 'Message')!.uuid;

    const referenceId = uuidv7();
    await herald.queue.send(DISPATCH_QUEUE, { messageId: referenceId, attempt: 1 });

    const { start_after: ours, data: ourData, ...ourJob } = await jobOf(messageId);
    const { start_after: theirs, data: theirData, ...theirJob } = await jobOf(referenceId);
    expect(ourJob).toEqual(theirJob);
    expect(ourJob).toMatchObject({ name: DISPATCH_QUEUE, retry_limit: 20, expire_seconds: 120, heartbeat_seconds: 15, deletion_seconds: 86_400 });
    expect(ourData).toEqual({ messageId, attempt: 1 });
    expect(theirData).toEqual({ messageId: referenceId, attempt: 1 });
    // Both due at once (the accept statement's job is as old as its message).
    expect(Math.abs(new Date(ours as string).getTime() - timeOfUuidv7(messageId).getTime())).toBeLessThan(2_000);
    expect(Math.abs(new Date(theirs as string).getTime() - Date.now())).toBeLessThan(10_000);
  });

  it('of a scheduled message becomes due at sendAt, not before', async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550171' });
    const sendAt = new Date(Date.now() + 3 * 3600_000);
    const sent = ok(await herald.gql(SEND_SMS, { input: { clientId: client.id, message: 'Later', sendAt: sendAt.toISOString() } })).sendSms;
    expect(sent.message.status).toBe('SCHEDULED');
    const job = await jobOf(fromGlobalId(sent.message.id, 'Message')!.uuid);
    expect(new Date(job.start_after as string).getTime()).toBe(sendAt.getTime());
  });

  it("is refused at start-up, not at the first message, when pg-boss's insert changes shape", () => {
    expect(() => jobInsertFromMessages('job_common', true)).not.toThrow();
    expect(() => jobInsertFromMessages('job_common', false)).not.toThrow();
    const fed = jobInsertFromMessages('job_common', true);
    expect(fed.ctes).toContain('json_to_recordset((select list from jobs))');
    expect(fed.ctes).not.toContain('$1');
    expect(fed.forced).toBe('(SELECT count(*) FROM notified) >= 0');
  });
});

describe('rows through one JSON parameter', () => {
  it('keep dates, JSON, nulls and defaults as drizzle would write and read them', () => {
    const id = uuidv7();
    const createdAt = timeOfUuidv7(id);
    const [json] = JSON.parse(
      toJsonRows(messages, [
        {
          id,
          tenantId: uuidv7(),
          recipientId: uuidv7(),
          channel: 'TWITTER_DM',
          status: 'QUEUED',
          body: 'Invoice',
          destination: '@someone',
          invoice: { number: 'INV-1', amountDue: '10.00', currency: 'EUR', dueDate: '2026-12-01' },
          createdAt,
        },
      ]),
    );
    // Column names as PostgreSQL has them; defaults filled as the table declares them.
    expect(json).toMatchObject({ id, channel: "TWITTER_DM", created_at: createdAt.toISOString(), attempts: 0 });
    expect(json).not.toHaveProperty("gateway_id");
    expect(json.invoice).toEqual({ number: 'INV-1', amountDue: '10.00', currency: 'EUR', dueDate: '2026-12-01' });
    expect(Date.parse(json.updated_at)).toBeGreaterThan(Date.now() - 10_000);

    // Back as json_agg writes a row: timestamps as text with an offset.
    const row = fromJsonRow<typeof messages.$inferSelect>(messages, { ...json, created_at: '2026-11-25T21:54:10.629+00:00' });
    expect(row.createdAt).toEqual(new Date('2026-11-25T21:54:10.629Z'));
    expect(row.invoice?.number).toBe('INV-1');
    expect(row.sentAt).toBeNull();
    expect(row.tenantId).toBe(json.tenant_id);
  });
});
