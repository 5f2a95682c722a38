// X (Twitter) Direct Messages through X API v2, with the gateway's OAuth 1.0a user
// context. A recipient is named by @handle; the dispatcher resolves it to a user id once
// (resolveRecipient) and sends to the id.
import type { TwitterCredentials } from '../credentials.js';
import type { GatewayForSend, OutboundMessage, Provider, ProviderError, ProviderSettings, SendResult } from '../types.js';
import { lookupProblem, toProviderError, type XProblem } from './transform.js';
import { twitterClient } from './twitter-api.js';

/** X usernames: 1 to 15 letters, digits or underscores. */
const HANDLE = /^[A-Za-z0-9_]{1,15}$/;
/** X user ids: numeric strings (64-bit). */
const USER_ID = /^\d{1,20}$/;

export function createTwitterProvider(settings: ProviderSettings): Provider {
  function clientFor(gateway: GatewayForSend) {
    const credentials = twitterCredentials(gateway.credentials);
    if (!credentials) return misconfigured('the X gateway has no usable credentials');
    try {
      return twitterClient({ ...credentials, baseUrl: settings.baseUrls.twitter, timeoutMs: settings.timeoutMs });
    } catch {
      // A malformed TWITTER_API_BASE_URL; config checks it at start, so this is a bug's path.
      return misconfigured('the X API base URL is not a valid http(s) URL');
    }
  }

  return {
    async resolveRecipient(name: string, gateway: GatewayForSend): Promise<{ ok: true; id: string } | ProviderError> {
      const handle = name.trim().replace(/^@/, '');
      if (!HANDLE.test(handle)) {
        return {
          ok: false,
          kind: 'permanent',
          code: 'INVALID_HANDLE',
          message: `no X account @${handle.slice(0, 40)}: X handles are 1 to 15 letters, digits or _`,
        };
      }
      const client = clientFor(gateway);
      if ('ok' in client) return client;
      try {
        const answer = (await client.userByUsername(handle)) as { data?: { id?: unknown }; errors?: XProblem[] };
        const id = answer?.data?.id;
        if (typeof id === 'string' && USER_ID.test(id)) return { ok: true, id };
        return lookupProblem(answer?.errors, handle);
      } catch (error) {
        return toProviderError(error, { operation: 'lookup', handle });
      }
    },

    async send(message: OutboundMessage, gateway: GatewayForSend): Promise<SendResult> {
      if (message.channel !== 'TWITTER_DM') {
        return { ok: false, kind: 'permanent', code: 'UNSUPPORTED_CHANNEL', message: `X gateways do not carry ${message.channel}` };
      }
      const participantId = message.destination.trim();
      if (!USER_ID.test(participantId)) {
        // The dispatcher resolves @handles first; a handle here is a bug, not the recipient's fault.
        return { ok: false, kind: 'permanent', code: 'INVALID_RECIPIENT', message: 'the X recipient has no resolved user id' };
      }
      const client = clientFor(gateway);
      if ('ok' in client) return client;
      try {
        // Typed by the SDK as the bare result; X answers `{ data: { dm_conversation_id, dm_event_id } }`.
        const answer = (await client.sendDmToParticipant(participantId, { text: message.body })) as unknown as {
          data?: { dm_event_id?: unknown };
          dm_event_id?: unknown;
        };
        const eventId = answer?.data?.dm_event_id ?? answer?.dm_event_id;
        if (typeof eventId === 'string' && eventId !== '') return { ok: true, providerMessageId: eventId };
        // Accepted without an id: the DM may well be out, so no retry that could send it twice.
        return { ok: false, kind: 'permanent', code: 'NO_EVENT_ID', message: 'X accepted the Direct Message but returned no dm_event_id' };
      } catch (error) {
        return toProviderError(error, { operation: 'dm' });
      }
    },
  };
}

function misconfigured(message: string): ProviderError {
  return { ok: false, kind: 'permanent', code: 'GATEWAY_MISCONFIGURED', message, aboutGateway: true };
}

function twitterCredentials(credentials: GatewayForSend['credentials']): TwitterCredentials | null {
  const c = credentials as Partial<TwitterCredentials> | null;
  if (!c) return null;
  for (const field of ['appKey', 'appSecret', 'accessToken', 'accessSecret'] as const) {
    if (typeof c[field] !== 'string' || c[field] === '') return null;
  }
  return c as TwitterCredentials;
}
