// The worker's per-batch statements read the messages they name through an index,
// whatever the table holds: a plan that scans `messages` costs a little more with every
// message ever stored, on every batch, and never shows in a functional test.
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../src/db/client.js';
import { recordSent } from '../src/modules/messages/messages.queries.js';
import { buildRecipient } from './helpers/factories.js';
import { rowsOf } from './helpers/database.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code message } } }`;

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald({ role: 'api' });
});
afterAll(() => herald?.stop());

/** The statement `run` executes, captured instead of run. */
async function statementOf(run: (ex: Executor) => Promise<unknown>): Promise<SQL> {
  let captured: SQL | undefined;
  const capture = {
    execute: async (query: SQL) => {
      captured = query;
      return { rows: [] };
    },
  } as unknown as Executor;
  await run(capture);
  if (!captured) throw new Error('nothing was executed');
  return captured;
}

async function planOf(statement: SQL): Promise<string> {
  return rowsOf(await herald.services.db.execute(sql`explain ${statement}`))
    .map((r) => String(Object.values(r)[0]))
    .join('\n');
}

describe('the SENT record of a batch of sends', () => {
  it('finds its messages by primary key among thousands stored, not by reading the table', async () => {
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550170' });
    const sent = ok(await herald.gql(SEND, { input: { clientId: client.id, message: 'Your code is 1234' } })).sendSms;
    expect(sent.userErrors).toEqual([]);
    // 3,000 messages already SENT, DELIVERED or FAILED beside the one about to be recorded.
    await herald.services.db.execute(sql`
      insert into messages
      select (jsonb_populate_record(null::messages, to_jsonb(m) || jsonb_build_object('id', gen_random_uuid(),
              'status', (array['SENT', 'DELIVERED', 'FAILED'])[1 + i % 3]))).*
      from (select * from messages limit 1) m, generate_series(1, 3000) i`);
    await herald.services.db.execute(sql`analyze messages`);
    const [message] = rowsOf(await herald.services.db.execute(sql`select id, tenant_id from messages order by id limit 1`)) as {
      id: string;
      tenant_id: string;
    }[];
    const statement = await statementOf((ex) =>
      recordSent(ex, [
        {
          id: message.id,
          gatewayId: message.id,
          providerMessageId: 'SM0123',
          sentAt: new Date(),
          log: { id: message.id, tenantId: message.tenant_id, messageId: message.id, outcome: 'SUCCESS' },
        },
      ]),
    );
    const plan = await planOf(statement);
    expect(plan).toMatch(/Index Scan using messages_pkey on messages/);
    expect(plan).not.toMatch(/Seq Scan on messages/);
  });
});
