// Factories: each test makes its own data through the public API.
import { randomBytes } from 'node:crypto';
import { ok, type TestHerald } from './herald.js';

let counter = 0;

export interface RecipientInput {
  kind?: 'CLIENT' | 'STAFF' | 'CUSTOMER';
  displayName?: string;
  externalRef?: string | null;
  phone?: string | null;
  email?: string | null;
  whatsapp?: string | null;
  twitterHandle?: string | null;
  timeZone?: string | null;
}

export const RECIPIENT_FIELDS =
  'id kind externalRef displayName phone email whatsapp twitterHandle createdAt subscriptions { channel gateway { id name provider } }';

export async function buildRecipient(herald: TestHerald, input: RecipientInput = {}, key?: string) {
  counter += 1;
  const data = ok(
    await herald.gql(
      `mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { ${RECIPIENT_FIELDS} } userErrors { field message code } } }`,
      { input: { kind: 'CLIENT', displayName: `Recipient ${counter}`, ...input } },
      key,
    ),
  );
  if (data.createRecipient.userErrors.length)
    throw new Error(`createRecipient refused: ${JSON.stringify(data.createRecipient.userErrors)}`);
  return data.createRecipient.recipient;
}

export async function buildTenant(herald: TestHerald, name = `Tenant ${randomBytes(3).toString('hex')}`) {
  const data = ok(
    await herald.gql(
      `mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id name } adminKey userErrors { code } } }`,
      {
        input: { name },
      },
    ),
  );
  return { tenant: data.createTenant.tenant as { id: string; name: string }, adminKey: data.createTenant.adminKey as string };
}

export async function buildApiKey(herald: TestHerald, role: 'ADMIN' | 'SENDER' | 'READER', key?: string): Promise<string> {
  const data = ok(
    await herald.gql(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key userErrors { code } } }`,
      { input: { name: `${role} key`, role } },
      key,
    ),
  );
  return data.createApiKey.key;
}

export const TWILIO_CREDENTIALS = {
  accountSid: `AC${'0123456789abcdef'.repeat(2)}`,
  authToken: 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0',
  from: '+15005550006',
};
