// The X adapter driving the real twitter-api-v2 against a local fake of X API v2 that
// checks OAuth 1.0a signatures.
import http from 'node:http';
import { createServer } from 'node:net';
import { TwitterApi } from 'twitter-api-v2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProviders } from '../src/providers/index.js';
import { twitterClient } from '../src/providers/twitter/twitter-api.js';
import type { GatewayForSend, OutboundMessage, ProviderSettings } from '../src/providers/types.js';
import { fakeTwitterAccount, startTwitterFake, type TwitterFake, type TwitterFakeAccount } from './fakes/twitter-fake.js';

const account = fakeTwitterAccount();
const otherAccount = fakeTwitterAccount();
let fake: TwitterFake;
let settings: ProviderSettings;

const dmGateway = (creds: TwitterFakeAccount = account): GatewayForSend => ({
  id: 'gw-x',
  provider: 'TWITTER',
  credentials: { appKey: creds.appKey, appSecret: creds.appSecret, accessToken: creds.accessToken, accessSecret: creds.accessSecret },
});

const dm = (destination: string, overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
  id: '0190f2a4-0000-7000-8000-000000000002',
  channel: 'TWITTER_DM',
  destination,
  body: 'Invoice INV-2025-001 for $1,250.00 is due on March 1, 2025.',
  ...overrides,
});

function twitterFor(s: ProviderSettings) {
  return createProviders(s)('TWITTER');
}

const jane = { handle: 'jane_doe', id: '1456789012345678901' };
const closed = { handle: 'NoDMsPlease', id: '2244994945' };

beforeAll(async () => {
  fake = await startTwitterFake({ accounts: [account, otherAccount] });
  fake.addUser(jane.handle, { id: jane.id, name: 'Jane Doe' });
  fake.addUser(closed.handle, { id: closed.id, dmsClosed: true });
  settings = { baseUrls: { twitter: fake.url }, publicUrl: 'https://herald.example.test', timeoutMs: 2_000 };
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

describe('X provider: resolving a handle', () => {
  it('looks the handle up once, signed with the gateway credentials, and answers the user id', async () => {
    const result = await twitterFor(settings).resolveRecipient!('jane_doe', dmGateway());

    expect(result).toEqual({ ok: true, id: jane.id });
    expect(fake.lookups).toEqual(['jane_doe']);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/2/users/by/username/jane_doe');
    // Signed over the URL actually called: the base URL's origin with X's documented path.
    expect(req.signedUrl).toBe(`${fake.url}/2/users/by/username/jane_doe`);
    expect(req.auth).toBe('ok');
    expect(req.consumerKey).toBe(account.appKey);
    expect(req.token).toBe(account.accessToken);
    expect(req.headers.authorization).toMatch(/^OAuth .*oauth_signature_method="HMAC-SHA1"/);
    expect(req.headers.authorization).not.toContain(account.appSecret);
    expect(req.headers.authorization).not.toContain(account.accessSecret);
  });

  it('takes a handle with a leading @ and in any case', async () => {
    expect(await twitterFor(settings).resolveRecipient!('@Jane_Doe', dmGateway())).toEqual({ ok: true, id: jane.id });
    expect(fake.requests[0].path).toBe('/2/users/by/username/Jane_Doe');
  });

  it('fails an unknown handle permanently, naming it', async () => {
    const result = await twitterFor(settings).resolveRecipient!('ghost_account', dmGateway());
    expect(result).toEqual({ ok: false, kind: 'permanent', code: 'USER_NOT_FOUND', message: 'no X account @ghost_account' });
    expect(fake.lookups).toEqual(['ghost_account']);
  });

  it('fails a handle X could not have without asking X', async () => {
    const result = await twitterFor(settings).resolveRecipient!('not a/handle', dmGateway());
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: 'INVALID_HANDLE' });
    expect(result.ok === false && result.message).toMatch(/^no X account @not a\/handle/);
    expect(fake.requests).toHaveLength(0);
  });

  it('reports a rate-limited lookup with the reset time', async () => {
    const reset = Math.floor(Date.now() / 1000) + 600;
    fake.failNext(1, { status: 429, reset, endpoint: 'lookup' });
    const result = await twitterFor(settings).resolveRecipient!('jane_doe', dmGateway());
    expect(result).toMatchObject({ ok: false, kind: 'rate_limited', code: '429', retryAt: new Date(reset * 1000) });
  });

  it('fails a lookup with wrong credentials permanently', async () => {
    const result = await twitterFor(settings).resolveRecipient!('jane_doe', dmGateway({ ...account, accessSecret: 'wrong-access-secret' }));
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: '401' });
    expect(fake.requests[0].auth).toBe('signature mismatch');
    expect(fake.lookups).toEqual([]);
  });
});

describe('X provider: sending a DM', () => {
  it('posts the text to the participant, signed with the gateway credentials, and keeps the dm_event_id', async () => {
    const result = await twitterFor(settings).send(dm(jane.id), dmGateway());

    expect(fake.dms).toHaveLength(1);
    expect(result).toEqual({ ok: true, providerMessageId: fake.dms[0].dmEventId });
    expect(fake.dms[0]).toMatchObject({
      participantId: jane.id,
      text: 'Invoice INV-2025-001 for $1,250.00 is due on March 1, 2025.',
      senderToken: account.accessToken,
    });
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/2/dm_conversations/with/${jane.id}/messages`);
    expect(req.signedUrl).toBe(`${fake.url}/2/dm_conversations/with/${jane.id}/messages`);
    expect(req.auth).toBe('ok');
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(req.body)).toEqual({ text: 'Invoice INV-2025-001 for $1,250.00 is due on March 1, 2025.' });
  });

  it('sends text with any characters exactly', async () => {
    const text = 'Fällig: 1.250,00 € — «Rechnung» #42 & co. 🧾\nhttps://pay.example.com/inv?id=42&x=a+b';
    expect((await twitterFor(settings).send(dm(jane.id, { body: text }), dmGateway())).ok).toBe(true);
    expect(fake.dms[0].text).toBe(text);
  });

  it("sends each gateway's DMs with that gateway's own credentials", async () => {
    const twitter = twitterFor(settings);
    const [a, b] = await Promise.all([
      twitter.send(dm(jane.id, { body: 'from a' }), dmGateway(account)),
      twitter.send(dm(jane.id, { body: 'from b' }), dmGateway(otherAccount)),
    ]);
    expect(a.ok && b.ok).toBe(true);
    const byText = Object.fromEntries(fake.dms.map((d) => [d.text, d.senderToken]));
    expect(byText).toEqual({ 'from a': account.accessToken, 'from b': otherAccount.accessToken });
    expect(fake.requests.every((r) => r.auth === 'ok')).toBe(true);
  });

  it('fails wrong credentials permanently, without quoting them', async () => {
    const wrongApp = { ...account, appSecret: 'not-the-app-secret-0123456789' };
    const wrongToken = { ...account, accessSecret: 'not-the-access-secret-0123456789' };
    for (const creds of [wrongApp, wrongToken]) {
      fake.reset();
      const result = await twitterFor(settings).send(dm(jane.id), dmGateway(creds));
      expect(result).toMatchObject({ ok: false, kind: 'permanent', code: '401' });
      expect(fake.requests.map((r) => r.auth)).toEqual(['signature mismatch']);
      const text = JSON.stringify(result);
      for (const secret of Object.values(creds)) expect(text).not.toContain(secret);
      expect(fake.dms).toHaveLength(0);
    }
  });

  it('fails a recipient who does not accept DMs permanently, with the reason', async () => {
    const result = await twitterFor(settings).send(dm(closed.id), dmGateway());
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: '403' });
    expect(result.ok === false && result.message).toMatch(/^the recipient does not accept Direct Messages from this account/);
    expect(fake.dms).toHaveLength(0);
  });

  it('reports a rate limit with retryAt at x-rate-limit-reset, and does not retry by itself', async () => {
    const reset = Math.floor(Date.now() / 1000) + 900;
    fake.failNext(1, { status: 429, reset });
    const result = await twitterFor(settings).send(dm(jane.id), dmGateway());
    expect(result).toMatchObject({ ok: false, kind: 'rate_limited', code: '429' });
    expect(result.ok === false && result.retryAt).toEqual(new Date(reset * 1000));
    expect(fake.requests).toHaveLength(1);
    expect(fake.dms).toHaveLength(0);
  });

  it('retries when X answers 503', async () => {
    fake.failNext(1, { status: 503 });
    const twitter = twitterFor(settings);
    expect(await twitter.send(dm(jane.id), dmGateway())).toMatchObject({ ok: false, kind: 'transient', code: '503' });
    expect(fake.requests).toHaveLength(1);
    expect((await twitter.send(dm(jane.id), dmGateway())).ok).toBe(true);
    expect(fake.dms).toHaveLength(1);
  });

  it('retries when nothing listens at the X address', async () => {
    const closedPort = await freePort();
    const twitter = twitterFor({ ...settings, baseUrls: { twitter: `http://127.0.0.1:${closedPort}` } });
    expect(await twitter.send(dm(jane.id), dmGateway())).toMatchObject({ ok: false, kind: 'transient', code: 'ECONNREFUSED' });
    expect(await twitter.resolveRecipient!('jane_doe', dmGateway())).toMatchObject({ ok: false, kind: 'transient', code: 'ECONNREFUSED' });
  });

  it('retries when X answers later than the timeout', async () => {
    fake.delayMs = 1_500;
    const started = Date.now();
    const result = await twitterFor({ ...settings, timeoutMs: 300 }).send(dm(jane.id), dmGateway());
    expect(result).toEqual({ ok: false, kind: 'transient', code: 'ETIMEDOUT', message: 'X did not answer in time' });
    expect(Date.now() - started).toBeLessThan(1_400);
  });

  it('fails a gateway without credentials, or a recipient without a user id, and sends nothing', async () => {
    const twitter = twitterFor(settings);
    expect(await twitter.send(dm(jane.id), { id: 'gw', provider: 'TWITTER', credentials: null })).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 'GATEWAY_MISCONFIGURED',
    });
    expect(await twitter.send(dm('@jane_doe'), dmGateway())).toMatchObject({ ok: false, kind: 'permanent', code: 'INVALID_RECIPIENT' });
    expect(await twitter.send(dm(jane.id, { channel: 'SMS' }), dmGateway())).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 'UNSUPPORTED_CHANNEL',
    });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('X fake', () => {
  it('checks query parameters as part of the signature', async () => {
    const client = twitterClient({ ...account, baseUrl: fake.url, timeoutMs: 2_000 });
    const answer = await client.userByUsername('jane_doe', { 'user.fields': ['created_at', 'description'] });
    expect(answer.data).toEqual({ id: jane.id, name: 'Jane Doe', username: 'jane_doe' });
    expect(fake.requests[0]).toMatchObject({
      path: '/2/users/by/username/jane_doe',
      query: 'user.fields=created_at%2Cdescription',
      auth: 'ok',
    });
    expect(fake.requests[0].headers.host).toBe(new URL(fake.url).host);
  });

  it('refuses a signature made over another URL than the one called', async () => {
    // The request goes to the fake, but is signed for https://api.x.com/…: moved after signing.
    const target = new URL(fake.url);
    const client = new TwitterApi(
      { appKey: account.appKey, appSecret: account.appSecret, accessToken: account.accessToken, accessSecret: account.accessSecret },
      {
        httpAgent: new http.Agent(),
        plugins: [
          {
            onBeforeRequest({ computedParams }) {
              computedParams.url.protocol = 'http:';
              computedParams.url.host = target.host;
            },
          },
        ],
      },
    );
    await expect(client.v2.userByUsername('jane_doe')).rejects.toMatchObject({ code: 401 });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      path: '/2/users/by/username/jane_doe',
      auth: 'signature mismatch',
      consumerKey: account.appKey,
    });
  });
});

/** A port that was free a moment ago and has nothing listening now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
