import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecipient, RECIPIENT_FIELDS } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald();
});
afterAll(() => herald?.stop());

const CREATE = `mutation($input: CreateRecipientInput!) {
  createRecipient(input: $input) { recipient { ${RECIPIENT_FIELDS} } userErrors { field message code } }
}`;

describe('createRecipient', () => {
  it('stores contacts normalized: phones as E.164, handle without @', async () => {
    const recipient = await buildRecipient(herald, {
      kind: 'STAFF',
      displayName: '  Ada Staff ',
      externalRef: 'staff-42',
      phone: '+1 (415) 555-0123',
      whatsapp: '+44 7911 123456',
      email: 'ada@example.com',
      twitterHandle: '@ada_l',
    });
    expect(recipient).toMatchObject({
      kind: 'STAFF',
      displayName: 'Ada Staff',
      externalRef: 'staff-42',
      phone: '+14155550123',
      whatsapp: '+447911123456',
      email: 'ada@example.com',
      twitterHandle: 'ada_l',
      subscriptions: [],
    });
    expect(recipient.id).toMatch(/^rcp_/);
    const fetched = ok(
      await herald.gql(`query($id: ID!) { recipient(id: $id) { id phone } node(id: $id) { id ... on Recipient { displayName } } }`, {
        id: recipient.id,
      }),
    );
    expect(fetched.recipient).toEqual({ id: recipient.id, phone: '+14155550123' });
    expect(fetched.node).toEqual({ id: recipient.id, displayName: 'Ada Staff' });
  });

  it.each([
    ['phone', { phone: '12' }, /phone/],
    ['phone', { phone: '+1 555' }, /phone/],
    ['whatsapp', { whatsapp: 'not a number' }, /whatsapp/],
    ['email', { email: 'ada@' }, /e-mail/],
    ['twitterHandle', { twitterHandle: 'much_too_long_handle_x' }, /twitterHandle/],
    ['twitterHandle', { twitterHandle: 'bad-dash' }, /twitterHandle/],
    ['displayName', { displayName: '   ' }, /displayName/],
    ['displayName', { displayName: 'x'.repeat(201) }, /displayName/],
    ['externalRef', { externalRef: 'r'.repeat(129) }, /externalRef/],
  ])('refuses a bad %s with INVALID_INPUT on its field and stores nothing', async (field, input, message) => {
    const before = ok(await herald.gql('{ recipients { totalCount } }')).recipients.totalCount;
    const result = ok(await herald.gql(CREATE, { input: { kind: 'CLIENT', displayName: 'Someone', ...input } }));
    expect(result.createRecipient.recipient).toBeNull();
    expect(result.createRecipient.userErrors).toEqual([
      { field: ['input', field], message: expect.stringMatching(message), code: 'INVALID_INPUT' },
    ]);
    expect(ok(await herald.gql('{ recipients { totalCount } }')).recipients.totalCount).toBe(before);
  });

  it('answers an unknown kind with a GraphQL validation error, not a 500', async () => {
    const result = await herald.gql(CREATE, { input: { kind: 'ROBOT', displayName: 'x' } });
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('updateRecipient', () => {
  const UPDATE = `mutation($input: UpdateRecipientInput!) {
    updateRecipient(input: $input) { recipient { id displayName phone email twitterHandle } userErrors { field message code } }
  }`;

  it('changes only the fields given, and null clears a contact', async () => {
    const recipient = await buildRecipient(herald, { phone: '+14155550100', email: 'old@example.com', twitterHandle: 'old' });
    const result = ok(
      await herald.gql(UPDATE, { input: { id: recipient.id, phone: '+1 202 555 0188', email: null, twitterHandle: '@new_one' } }),
    );
    expect(result.updateRecipient).toEqual({
      recipient: { id: recipient.id, displayName: recipient.displayName, phone: '+12025550188', email: null, twitterHandle: 'new_one' },
      userErrors: [],
    });
  });

  it('refuses a bad phone and leaves the stored recipient as it was', async () => {
    const recipient = await buildRecipient(herald, { phone: '+14155550101' });
    const result = ok(await herald.gql(UPDATE, { input: { id: recipient.id, phone: 'call me', displayName: 'New name' } }));
    expect(result.updateRecipient.userErrors).toEqual([{ field: ['input', 'phone'], message: expect.any(String), code: 'INVALID_INPUT' }]);
    const stored = ok(await herald.gql(`query($id: ID!) { recipient(id: $id) { displayName phone } }`, { id: recipient.id }));
    expect(stored.recipient).toEqual({ displayName: recipient.displayName, phone: '+14155550101' });
  });

  it('says NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of ['rcp_0000000000007000800000000000dead', 'garbage', 'gw_0000000000007000800000000000dead']) {
      const result = ok(await herald.gql(UPDATE, { input: { id, displayName: 'x' } }));
      expect(result.updateRecipient).toEqual({
        recipient: null,
        userErrors: [{ field: ['input', 'id'], message: expect.any(String), code: 'NOT_FOUND' }],
      });
    }
  });
});

describe('recipients connection', () => {
  it('pages newest first with opaque cursors, no gaps or duplicates, and counts', async () => {
    const ref = `page-${Date.now()}`;
    const made: string[] = [];
    for (let i = 0; i < 45; i++) made.push((await buildRecipient(herald, { kind: 'CUSTOMER', externalRef: ref })).id);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: any = ok(
        await herald.gql(
          `query($after: String, $ref: String) { recipients(first: 20, after: $after, filter: { externalRef: $ref }) {
             totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
          { after, ref },
        ),
      ).recipients;
      pages += 1;
      expect(page.totalCount).toBe(45);
      seen.push(...page.edges.map((e: any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...made].reverse());
  });

  it('filters by kind', async () => {
    const staff = await buildRecipient(herald, { kind: 'STAFF', externalRef: 'kind-filter' });
    await buildRecipient(herald, { kind: 'CLIENT', externalRef: 'kind-filter' });
    const result = ok(
      await herald.gql(`{ recipients(filter: { kind: STAFF, externalRef: "kind-filter" }) { edges { node { id kind } } } }`),
    );
    expect(result.recipients.edges).toEqual([{ node: { id: staff.id, kind: 'STAFF' } }]);
  });

  it.each([
    ['first over 100', '{ recipients(first: 101) { totalCount } }'],
    ['negative first', '{ recipients(first: -1) { totalCount } }'],
    ['a forged cursor', '{ recipients(after: "bm90LWEtY3Vyc29y") { totalCount } }'],
  ])('refuses %s with BAD_USER_INPUT', async (_name, query) => {
    const result = await herald.gql(query);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
