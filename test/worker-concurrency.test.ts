// A worker with default settings hides its provider's latency behind many sends at once:
// real providers take 100-400 ms to answer, and a worker that waited for each in turn
// would leave a backlog queued for hours. Asserted without timing: the Twilio fake holds
// every answer until the test releases it, so the sends out at once are counted, not
// timed. Runs on PostgreSQL and PGlite alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake, type TwilioFakeHold } from './fakes/twilio-fake.js';
import { buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitUntil } from './helpers/wait.js';

// Well above the SDK's own 20 sockets per host, and the old default of 8 sends at once.
const AT_ONCE = 100;
const account = fakeTwilioAccount();
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code message } } }`;
const COUNT = `query($f: MessageFilter) { messages(filter: $f) { totalCount } }`;

let fake: TwilioFake;
let herald: TestHerald;
beforeAll(async () => {
  fake = await startTwilioFake({ accounts: [account] });
  herald = await startTestHerald({
    env: {
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: '+15005550006',
      TWILIO_API_BASE_URL: fake.url,
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await fake?.close();
});

describe('a worker with default settings', () => {
  it(`has ${AT_ONCE} provider calls out at once while none is answered, then records each send once`, async () => {
    const holds: TwilioFakeHold[] = Array.from({ length: AT_ONCE }, () => fake.holdNext());
    let accepted = 0;
    for (const hold of holds) void hold.accepted.then(() => accepted++);
    const clients = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        buildRecipient(herald, { kind: 'CLIENT', phone: `+1415555${String(700 + i).padStart(4, '0')}` }),
      ),
    );
    // All due at the same moment, as a backlog is: the worker finds them together.
    const sendAt = new Date(Date.now() + 5_000).toISOString();
    const sent = await Promise.all(
      Array.from(
        { length: AT_ONCE },
        async (_, i) =>
          ok(await herald.gql(SEND, { input: { clientId: clients[i % clients.length].id, message: `Held ${i}`, sendAt } })).sendSms,
      ),
    );
    expect(sent.filter((s) => s.userErrors.length > 0)).toEqual([]);
    expect(accepted).toBe(0);
    // Every send reaches Twilio before any answer comes back.
    await waitUntil(`${AT_ONCE} sends held at Twilio at once`, () => accepted === AT_ONCE, 20_000);
    expect(fake.requests).toHaveLength(AT_ONCE);

    for (const hold of holds) hold.release();
    const sentCount = async () => ok(await herald.gql(COUNT, { f: { status: 'SENT' } })).messages.totalCount as number;
    await waitUntil(`${AT_ONCE} messages SENT`, async () => (await sentCount()) === AT_ONCE, 20_000);
    expect(fake.requests).toHaveLength(AT_ONCE);
  });
});
