// herald_queue_depth on /metrics: the messages QUEUED and waiting for a worker, over every
// tenant, read at each scrape. An API-only Herald runs no worker, so what it accepts waits.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitingStatement } from '../src/modules/messages/messages.queries.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { rowsOf } from './helpers/database.js';
import { metric, metricsText } from './helpers/metrics.js';

const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { code message } } }`;
const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { status } userErrors { code } } }`;

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald({ role: 'api' });
});
afterAll(() => herald?.stop());

let line = 100;
async function send(key: string, input: Record<string, unknown> = {}): Promise<{ id: string; status: string }> {
  const client = await buildRecipient(herald, { kind: 'CLIENT', phone: `+1415555${String(line++).padStart(4, '0')}` }, key);
  const payload = ok(await herald.gql(SEND, { input: { clientId: client.id, message: 'Your statement is ready', ...input } }, key)).sendSms;
  expect(payload.userErrors).toEqual([]);
  return payload.message;
}

async function queueDepth(): Promise<number> {
  const text = await metricsText(herald.url);
  if (!/^herald_queue_depth /m.test(text)) throw new Error('herald_queue_depth is not on /metrics');
  return metric(text, 'herald_queue_depth');
}

describe('herald_queue_depth', () => {
  it('counts the QUEUED messages of every tenant, and not scheduled or cancelled ones', async () => {
    expect(await queueDepth()).toBe(0);
    const a = (await buildTenant(herald)).adminKey;
    const b = (await buildTenant(herald)).adminKey;
    const inA = [await send(a), await send(a), await send(a)];
    await send(b);
    await send(b);
    const later = await send(b, { sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(inA.map((m) => m.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED']);
    expect(later.status).toBe('SCHEDULED');
    expect(await queueDepth()).toBe(5);

    const cancelled = ok(await herald.gql(CANCEL, { input: { id: inA[0].id } }, a)).cancelMessage;
    expect(cancelled).toMatchObject({ message: { status: 'CANCELLED' }, userErrors: [] });
    expect(await queueDepth()).toBe(4);
  });

  it('leaves SENT messages out, reading the QUEUED entries of the (tenant, status) index instead of every message stored', async () => {
    // 3,000 messages already SENT next to the few waiting: the count must not read them.
    await herald.services.db.execute(sql`
      insert into messages
      select (jsonb_populate_record(null::messages, to_jsonb(m) || jsonb_build_object('id', gen_random_uuid(), 'status', 'SENT'))).*
      from (select * from messages where status = 'QUEUED' limit 1) m, generate_series(1, 3000)`);
    await herald.services.db.execute(sql`analyze messages`);
    expect(await queueDepth()).toBe(4);

    const statement = waitingStatement(herald.services.db).toSQL();
    expect(statement.params).toEqual([]);
    const plan = rowsOf(await herald.services.db.execute(sql.raw(`explain ${statement.sql}`)))
      .map((r) => String(Object.values(r)[0]))
      .join('\n');
    expect(plan).toMatch(/Index Only Scan using messages_tenant_status_id on messages/);
    expect(plan).not.toMatch(/Seq Scan on messages/);
  });
});
