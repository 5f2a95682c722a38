// The outbox writes a message, its logs and its job in one transaction (dispatch/outbox.ts).
// Its job must be the job pg-boss's own send() would have written, so the queue's retry,
// expiry, retention and heartbeat settings hold for it too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEND_TIMEOUT_MS } from '../src/config.js';
import { longestSendMs } from '../src/dispatch/dispatcher.js';
import { DISPATCH_QUEUE } from '../src/dispatch/jobs.js';
import { QueueOutbox } from '../src/dispatch/outbox.js';
import { fromGlobalId, timeOfUuidv7, uuidv7 } from '../src/lib/ids.js';
import { maskPhone } from '../src/lib/mask.js';
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
  const rows = await herald.handle.prepared<Record<string, unknown>>(
    'test_job_of',
    `select ${JOB_COLUMNS} from pgboss.job where data->>'messageId' = $1`,
    [messageId],
  );
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
    expect(ourJob).toMatchObject({ name: DISPATCH_QUEUE, retry_limit: 20, heartbeat_seconds: 15, deletion_seconds: 86_400 });
    // The job outlives any live send (dispatch/queue.ts).
    expect((ourJob.expire_seconds as number) * 1000).toBeGreaterThan(longestSendMs(MAX_SEND_TIMEOUT_MS));
    expect(ourData).toEqual({ messageId, attempt: 1 });
    expect(theirData).toEqual({ messageId: referenceId, attempt: 1 });
    // Both due at once (the job is as old as its message).
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

  it('of sends arriving together (one shared transaction) is each its own: recipient, text, destination, idempotency', async () => {
    const phones = Array.from({ length: 40 }, (_, i) => `+1415555${String(1000 + i)}`);
    const clients = await Promise.all(phones.map((phone) => buildRecipient(herald, { kind: 'CLIENT', phone })));
    // 40 distinct sends, 10 repeats of the first 5 under an idempotency key, 3 refusals, all at once.
    const sends = [
      ...clients.map((c, i) => ({ clientId: c.id, message: `Hello ${i}`, idempotencyKey: i < 5 ? `together-${i}` : undefined })),
      ...clients
        .slice(0, 5)
        .flatMap((c, i) => [0, 1].map(() => ({ clientId: c.id, message: `Hello ${i}`, idempotencyKey: `together-${i}` }))),
      { clientId: 'rcp_00000000000000000000000000000000', message: 'nobody' },
      { clientId: clients[6].id, message: 'Hello 6 again', idempotencyKey: 'together-0' },
      { clientId: clients[7].id, staffId: clients[7].id, message: 'both' },
    ];
    const answers = await Promise.all(
      sends.map((input) =>
        herald.gql(SEND_SMS.replace('status scheduledAt', 'status body destination'), { input }).then((r) => ok(r).sendSms),
      ),
    );

    const first = answers.slice(0, 40);
    first.forEach((a, i) => {
      expect(a.userErrors).toEqual([]);
      expect(a.message).toMatchObject({ status: 'QUEUED', body: `Hello ${i}`, destination: maskPhone(phones[i]) });
    });
    expect(new Set(first.map((a) => a.message.id)).size).toBe(40);
    // Repeats got the message their key names; the different request under a used key a conflict.
    answers.slice(40, 50).forEach((a, j) => expect(a.message?.id).toBe(first[Math.floor(j / 2)].message.id));
    expect(answers[50].userErrors.map((e: { code: string }) => e.code)).toEqual(['NOT_FOUND']);
    expect(answers[51].userErrors.map((e: { code: string }) => e.code)).toEqual(['IDEMPOTENCY_CONFLICT']);
    expect(answers[52].userErrors.map((e: { code: string }) => e.code)).toEqual(['INVALID_INPUT', 'INVALID_INPUT']);

    // Each stored message went to its own client's phone, with exactly one job.
    const ids = first.map((a) => fromGlobalId(a.message.id, 'Message')!.uuid);
    const stored = await herald.handle.prepared<{ id: string; destination: string; body: string; jobs: number }>(
      'test_together',
      `select m.id, m.destination, m.body, (select count(*) from pgboss.job j where j.data->>'messageId' = m.id::text)::int as jobs
         from messages m where m.id = any($1::uuid[])`,
      [`{${ids.join(',')}}`],
    );
    const byId = new Map(stored.map((r) => [r.id, r]));
    ids.forEach((id, i) => expect(byId.get(id)).toEqual({ id, destination: phones[i], body: `Hello ${i}`, jobs: 1 }));
  });
});

describe('writes that share one transaction', () => {
  it('give each caller its own rows; a caller whose row breaks the transaction fails alone', async () => {
    const outbox = new QueueOutbox(herald.handle.db, { bulkStatementTimeoutMs: 0 });
    outbox.attach(herald.queue);
    const clients = await Promise.all(
      Array.from({ length: 12 }, (_, i) => buildRecipient(herald, { kind: 'CLIENT', phone: `+1415555${2000 + i}` })),
    );
    const [{ tenant_id: tenantId }] = await herald.handle.prepared<{ tenant_id: string }>(
      'test_tenant_of',
      'select tenant_id from recipients where id = $1',
      [fromGlobalId(clients[0].id, 'Recipient')!.uuid],
    );
    const row = (recipientId: string, body: string) => {
      const id = uuidv7();
      return {
        id,
        tenantId,
        recipientId,
        channel: 'SMS' as const,
        status: 'QUEUED' as const,
        body,
        destination: '+14155550000',
        createdAt: timeOfUuidv7(id),
      };
    };
    const rows = clients.map((c, i) => ({
      ...row(fromGlobalId(c.id, 'Recipient')!.uuid, `shared ${i}`),
      idempotencyKey: i === 9 ? 'shared-key' : null,
    }));
    // No destination: the NOT NULL constraint refuses the row, and with it the statement it is in.
    const broken = { ...row(rows[0].recipientId, 'to nowhere'), destination: null as unknown as string };
    const log = { id: uuidv7(), tenantId, outcome: 'FAILURE' as const, reason: 'shared log' };

    // Called together: the first leaves alone, the rest wait and leave as one transaction.
    const written = await Promise.all([
      outbox.write({ messages: [rows[0]] }),
      outbox.write({ messages: rows.slice(1, 4), logs: [log] }),
      ...rows.slice(4, 10).map((r) => outbox.write({ messages: [r] })),
      // The same idempotency key as rows[9], in the same transaction: refused by the unique index, no error.
      outbox.write({ messages: [{ ...row(rows[9].recipientId, 'again'), idempotencyKey: 'shared-key' }] }),
    ]);
    expect(written[0].messages.map((m) => m.body)).toEqual(['shared 0']);
    expect(written[1].messages.map((m) => m.body)).toEqual(['shared 1', 'shared 2', 'shared 3']);
    expect(written[1].logs.map((l) => l.reason)).toEqual(['shared log']);
    expect(written[1].inserted).toBe(3);
    rows.slice(4, 10).forEach((r, i) => expect(written[2 + i].messages.map((m) => m.id)).toEqual([r.id]));
    expect(written[8]).toMatchObject({ messages: [], logs: [], inserted: 0 });

    // A row that breaks the shared transaction: its caller fails, the others are written.
    const second = await Promise.allSettled([
      outbox.write({ messages: [rows[10]] }),
      outbox.write({ messages: [broken] }),
      outbox.write({ messages: [rows[11]] }),
    ]);
    expect(second.map((w) => w.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((second[2] as PromiseFulfilledResult<Awaited<ReturnType<typeof outbox.write>>>).value.messages.map((m) => m.body)).toEqual([
      'shared 11',
    ]);

    // Stored once each with one job; the broken row left nothing behind.
    const stored = await herald.handle.prepared<{ id: string; jobs: number }>(
      'test_shared_jobs',
      `select m.id, (select count(*) from pgboss.job j where j.data->>'messageId' = m.id::text)::int as jobs from messages m where m.id = any($1::uuid[])`,
      [`{${[...rows, broken].map((r) => r.id).join(',')}}`],
    );
    expect(stored.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      rows.map((r) => ({ id: r.id, jobs: 1 })).sort((a, b) => a.id.localeCompare(b.id)),
    );
  });
});

describe('a bulk write in parts (notifyBillingCycle)', () => {
  let outbox: QueueOutbox;
  let tenantId: string;
  let recipientId: string;
  beforeAll(async () => {
    outbox = new QueueOutbox(herald.handle.db, { bulkStatementTimeoutMs: 0 });
    outbox.attach(herald.queue);
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', twitterHandle: 'parts_customer' });
    recipientId = fromGlobalId(customer.id, 'Recipient')!.uuid;
    [{ tenant_id: tenantId }] = await herald.handle.prepared<{ tenant_id: string }>(
      'test_tenant_of',
      'select tenant_id from recipients where id = $1',
      [recipientId],
    );
  });
  const part = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => {
      const id = uuidv7();
      return {
        id,
        tenantId,
        recipientId,
        channel: 'TWITTER_DM' as const,
        status: 'QUEUED' as const,
        body: `${tag} ${i}`,
        destination: 'parts_customer',
        createdAt: timeOfUuidv7(id),
      };
    });
  const count = async (ids: string[]) =>
    (
      await herald.handle.prepared<{ n: number }>('test_count_ids', 'select count(*)::int as n from messages where id = any($1::uuid[])', [
        `{${ids.join(',')}}`,
      ])
    )[0].n;
  const fanOutJobsOf = async (ids: string[]) =>
    (
      await herald.handle.prepared<{ ids: string[] }>(
        'test_fan_outs_of',
        `select data->'messageIds' as ids from pgboss.job where data ? 'messageIds'`,
        [],
      )
    ).filter((j) => ids.includes(j.ids[0]));
  const log = (reason: string) => ({
    id: uuidv7(),
    tenantId,
    recipientId,
    channel: 'TWITTER_DM' as const,
    outcome: 'FAILURE' as const,
    reason,
  });

  it('commits every part or none: a part the database refuses, or one that cannot be built, leaves nothing of the earlier parts', async () => {
    // Three parts: all written, counted together; a job per 100 messages of each part.
    const good = [part(150, 'good a'), part(1, 'good b'), part(120, 'good c')];
    const written = await outbox.writeParts(good.map((messages, i) => ({ messages, logs: i === 1 ? [log('parts: refused one')] : [] })));
    expect(written).toEqual({ inserted: 271, scheduled: 0, rewritten: false });
    const goodIds = good.flat().map((m) => m.id);
    expect(await count(goodIds)).toBe(271);
    expect((await fanOutJobsOf(goodIds)).map((j) => j.ids.length).sort((a, b) => a - b)).toEqual([1, 20, 50, 100, 100]);

    // The third part breaks a NOT NULL constraint: the first two are rolled back with it.
    const broken = [
      part(50, 'broken a'),
      part(50, 'broken b'),
      part(2, 'broken c').map((m, i) => (i === 1 ? { ...m, destination: null as unknown as string } : m)),
    ];
    await expect(outbox.writeParts(broken.map((messages) => ({ messages, logs: [log('parts: rolled back')] })))).rejects.toThrow(
      /destination/,
    );
    const brokenIds = broken.flat().map((m) => m.id);
    expect(await count(brokenIds)).toBe(0);
    expect(await fanOutJobsOf(brokenIds)).toEqual([]);

    // Building the second part fails after the first was sent: the first is rolled back too.
    const first = part(30, 'unbuilt a');
    function* failing() {
      yield { messages: first };
      throw new Error('the second part could not be built');
    }
    await expect(outbox.writeParts(failing())).rejects.toThrow('the second part could not be built');
    expect(await count(first.map((m) => m.id))).toBe(0);
    const logs = await herald.handle.prepared<{ reason: string }>(
      'test_parts_logs',
      `select reason from delivery_logs where reason like 'parts: %' order by reason`,
      [],
    );
    expect(logs.map((l) => l.reason)).toEqual(['parts: refused one']);

    // The connection went back to the pool in working order: the next bulk write succeeds.
    expect(await outbox.writeParts([{ messages: part(3, 'after') }])).toEqual({ inserted: 3, scheduled: 0, rewritten: false });
  });

  it('leaves out an invoice the cycle has queued already (by an earlier write, at the same time, or twice in this one) and writes the rest once, each with its job', async () => {
    const cycle = `dup-${uuidv7()}`;
    const invoiced = (numbers: string[], tag: string) =>
      part(numbers.length, tag).map((m, i) => ({ ...m, invoiceNumber: `${cycle}-${numbers[i]}`, billingCycleId: cycle }));
    const tried: string[] = [];
    const write = (parts: ReturnType<typeof invoiced>[], logs: ReturnType<typeof log>[] = []) => {
      tried.push(...parts.flat().map((m) => m.id));
      return outbox.writeParts(parts.map((messages, i) => ({ messages, logs: i === 0 ? logs : [] })));
    };

    expect(await write([invoiced(['A', 'B'], 'first')])).toEqual({ inserted: 2, scheduled: 0, rewritten: false });
    // B was queued before, C comes twice (in two parts), D is new: C and D are written, and the logs with them.
    expect(await write([invoiced(['B', 'C'], 'again a'), invoiced(['C', 'D'], 'again b')], [log(`dup: ${cycle} kept`)])).toEqual({
      inserted: 2,
      scheduled: 0,
      rewritten: true,
    });
    // Twice in one part.
    expect(await write([invoiced(['E', 'E'], 'twice')])).toEqual({ inserted: 1, scheduled: 0, rewritten: true });
    // Two writes at the same time, overlapping on G and H: each invoice once between them.
    const [x, y] = await Promise.all([write([invoiced(['F', 'G', 'H'], 'x')]), write([invoiced(['G', 'H', 'I'], 'y')])]);
    expect(x.inserted + y.inserted).toBe(4);
    // The one that came second met the other's rows.
    expect([x.rewritten, y.rewritten].sort()).toEqual([false, true]);

    const stored = await herald.handle.prepared<{ id: string; invoice_number: string }>(
      'test_cycle_rows',
      'select id, invoice_number from messages where billing_cycle_id = $1 order by invoice_number',
      [cycle],
    );
    expect(stored.map((r) => r.invoice_number)).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'].map((n) => `${cycle}-${n}`));
    // Every stored message has exactly one fan-out job, and no job names a message left out.
    const jobs = (await fanOutJobsOf(tried)).flatMap((j) => j.ids);
    expect(jobs.sort()).toEqual(stored.map((r) => r.id).sort());
    const logs = await herald.handle.prepared<{ n: number }>(
      'test_dup_logs',
      'select count(*)::int as n from delivery_logs where reason = $1',
      [`dup: ${cycle} kept`],
    );
    expect(logs[0].n).toBe(1);
  });
});
