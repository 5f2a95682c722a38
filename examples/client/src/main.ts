// A partner's integration with Herald, end to end: create a recipient, send it an SMS,
// follow the message's status live over WebSocket, page through the messages.
// Every operation is typed from Herald's schema.graphql (npm run codegen writes src/gql/).
//
//   HERALD_URL=http://127.0.0.1:4000 HERALD_API_KEY=hrld_… npm start
import { randomUUID } from 'node:crypto';
import type { ResultOf } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { ClientError, GraphQLClient } from 'graphql-request';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';

const HERALD_URL = process.env.HERALD_URL ?? 'http://127.0.0.1:4000';
const API_KEY = process.env.HERALD_API_KEY;
const TIMEOUT_MS = 30_000;
const PAGE_SIZE = 20;
/** Enough pages to show paging; a real integration walks on until hasNextPage is false. */
const MAX_PAGES = 3;
/** What the program is waiting for, for the timeout's message. */
let waitingFor = 'createRecipient';

const CreateRecipient = graphql(`
  mutation CreateRecipient($input: CreateRecipientInput!) {
    createRecipient(input: $input) {
      recipient {
        id
        displayName
        phone
      }
      userErrors {
        code
        message
        field
      }
    }
  }
`);

const SendSms = graphql(`
  mutation SendSms($input: SendSmsInput!) {
    sendSms(input: $input) {
      message {
        id
        status
        destination
      }
      userErrors {
        code
        message
        field
      }
    }
  }
`);

const MessageStatusChanged = graphql(`
  subscription MessageStatusChanged($messageId: ID!) {
    messageStatusChanged(messageId: $messageId) {
      id
      status
      sentAt
      deliveredAt
      errorCode
      errorMessage
    }
  }
`);

const Messages = graphql(`
  query Messages($first: Int!, $after: String) {
    messages(first: $first, after: $after) {
      totalCount
      pageInfo {
        endCursor
        hasNextPage
      }
      edges {
        node {
          id
          status
          createdAt
          recipient {
            displayName
          }
        }
      }
    }
  }
`);

type UserErrors = readonly { code: string; message: string; field?: readonly string[] | null }[];

/** The payload's value, or an error naming each userError (a refusal is an answer, not an exception, in GraphQL). */
function accepted<T>(step: string, value: T | null | undefined, userErrors: UserErrors): T {
  if (userErrors.length === 0 && value != null) return value;
  const reasons = userErrors.map((e) => `${e.code}: ${e.message}${e.field ? ` (${e.field.join('.')})` : ''}`);
  throw new Error(`${step} was refused: ${reasons.join('; ') || 'no reason given'}`);
}

async function main(): Promise<void> {
  if (!API_KEY) throw new Error('HERALD_API_KEY is not set: give it an API key of your tenant (hrld_…)');
  const http = new GraphQLClient(new URL('/graphql', HERALD_URL).href, { headers: { authorization: `Bearer ${API_KEY}` } });

  // 1. The recipient. No `subscribe` is needed before sending: an SMS goes through the
  // recipient's SMS subscription gateway if it has one, else the SMS default gateway,
  // which is the SANDBOX until a Twilio gateway is added.
  const created = await http.request(CreateRecipient, {
    input: { kind: 'CLIENT', displayName: 'Ada Lovelace', phone: '+1 415 555 0123', externalRef: `example-${randomUUID()}` },
  });
  const recipient = accepted('createRecipient', created.createRecipient.recipient, created.createRecipient.userErrors);
  console.log(`recipient  ${recipient.id} ${recipient.displayName} ${recipient.phone ?? ''}`);
  waitingFor = 'sendSms';

  // 2. The SMS. The idempotency key makes a retried request (after a timeout, say) send once.
  const sent = await http.request(SendSms, {
    input: { clientId: recipient.id, message: 'Your loan payment is due on Friday.', idempotencyKey: randomUUID() },
  });
  const message = accepted('sendSms', sent.sendSms.message, sent.sendSms.userErrors);
  console.log(`sendSms    ${message.id} ${message.status} to ${message.destination ?? '?'}`);
  waitingFor = `a final status of ${message.id} on messageStatusChanged`;

  // 3. Its status, live. Subscribe right after sending: the first event is the message's
  // current state, then each change follows, until a final status.
  const ws = createClient({
    url: new URL('/graphql', HERALD_URL.replace(/^http/, 'ws')).href,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${API_KEY}` },
    retryAttempts: 0,
  });
  let final: ResultOf<typeof MessageStatusChanged>['messageStatusChanged'] | undefined;
  try {
    const events = ws.iterate<ResultOf<typeof MessageStatusChanged>>({
      query: print(MessageStatusChanged),
      variables: { messageId: message.id },
    });
    for await (const event of events) {
      if (event.errors?.length) throw new Error(`messageStatusChanged: ${event.errors.map((e) => e.message).join('; ')}`);
      const changed = event.data?.messageStatusChanged;
      if (!changed) continue;
      console.log(`status     ${changed.status} ${changed.deliveredAt ?? changed.sentAt ?? ''}`.trimEnd());
      if (changed.status === 'SENT' || changed.status === 'DELIVERED' || changed.status === 'FAILED') {
        final = changed;
        break; // ends the subscription
      }
    }
  } finally {
    await ws.dispose();
  }
  if (!final) throw new Error('messageStatusChanged ended before the message reached a final status');
  if (final.status === 'FAILED') throw new Error(`the SMS failed: ${final.errorCode ?? ''} ${final.errorMessage ?? ''}`);

  // 4. The tenant's messages, newest first, a page at a time: each page's endCursor is the
  // next one's `after`.
  waitingFor = 'messages';
  let after: string | null = null;
  let seen = false;
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { messages }: ResultOf<typeof Messages> = await http.request(Messages, { first: PAGE_SIZE, after });
    console.log(`messages   page ${page}: ${messages.edges.length} of ${messages.totalCount}`);
    for (const { node } of messages.edges) {
      console.log(`           ${node.id} ${node.status} ${node.createdAt} ${node.recipient.displayName}`);
      seen ||= node.id === message.id;
    }
    if (!messages.pageInfo.hasNextPage) break;
    after = messages.pageInfo.endCursor ?? null;
  }
  if (!seen) throw new Error(`${message.id} is not among the newest messages`);
}

/** What went wrong, in words: GraphQL errors, a closed WebSocket or a plain error. */
function describe(err: unknown): string {
  if (err instanceof ClientError) {
    const errors = err.response.errors?.map((e) => `${e.message}${e.extensions?.code ? ` [${String(e.extensions.code)}]` : ''}`);
    return `HTTP ${err.response.status}: ${errors?.join('; ') ?? 'no GraphQL errors in the answer'}`;
  }
  if (err instanceof Error) return err.cause ? `${err.message} (${describe(err.cause)})` : err.message;
  if (Array.isArray(err)) return err.map(describe).join('; '); // graphql-ws: the subscribe's GraphQL errors
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const close = err as { code: number; reason?: string }; // graphql-ws: the socket's close event
    return `WebSocket closed with ${close.code}${close.reason ? `: ${close.reason}` : ''}`;
  }
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
}

const watchdog = setTimeout(() => {
  console.error(`error: timed out after ${TIMEOUT_MS / 1000} s waiting for ${waitingFor} from ${HERALD_URL}`);
  process.exit(1);
}, TIMEOUT_MS);

main().then(
  () => {
    clearTimeout(watchdog);
    console.log('done');
  },
  (err: unknown) => {
    console.error(`error: ${describe(err)}`);
    process.exit(1);
  },
);
