// SMS and WhatsApp through Twilio's Messages API. Each gateway sends with its own
// account; delivery outcomes arrive later on /webhooks/twilio/status.
import type { TwilioCredentials } from '../credentials.js';
import type { GatewayForSend, OutboundMessage, Provider, ProviderSettings, SendResult } from '../types.js';
import { twilioClient } from './twilio-api.js';
import { toProviderError } from './transform.js';

const WHATSAPP = 'whatsapp:';

/**
 * The StatusCallback URL's parameter that names Herald's message: a callback can then be
 * applied before the send's answer (the MessageSid) is recorded, and Twilio's signature
 * covers it with the rest of the URL.
 */
export const STATUS_CALLBACK_MESSAGE_PARAM = 'm';

export function createTwilioProvider(settings: ProviderSettings): Provider {
  const statusCallbackBase = `${settings.publicUrl.replace(/\/+$/, '')}/webhooks/twilio/status`;

  return {
    async send(message: OutboundMessage, gateway: GatewayForSend): Promise<SendResult> {
      const credentials = twilioCredentials(gateway.credentials);
      if (!credentials) {
        return {
          ok: false,
          kind: 'permanent',
          code: 'GATEWAY_MISCONFIGURED',
          message: 'the Twilio gateway has no usable credentials',
          aboutGateway: true,
        };
      }
      if (message.channel !== 'SMS' && message.channel !== 'WHATSAPP') {
        return { ok: false, kind: 'permanent', code: 'UNSUPPORTED_CHANNEL', message: `Twilio gateways do not carry ${message.channel}` };
      }

      let client;
      try {
        client = twilioClient({
          accountSid: credentials.accountSid,
          authToken: credentials.authToken,
          baseUrl: settings.baseUrls.twilio,
          timeoutMs: settings.timeoutMs,
        });
      } catch {
        // The SDK refuses a malformed account SID before any request; its text may quote it.
        return {
          ok: false,
          kind: 'permanent',
          code: 'GATEWAY_MISCONFIGURED',
          message: 'the Twilio SDK refused the gateway credentials',
          aboutGateway: true,
        };
      }

      const whatsapp = message.channel === 'WHATSAPP';
      try {
        const sent = await client.messages.create({
          to: whatsapp ? withPrefix(message.destination) : message.destination,
          from: whatsapp ? withPrefix(credentials.from) : credentials.from,
          body: message.body,
          statusCallback: `${statusCallbackBase}?${STATUS_CALLBACK_MESSAGE_PARAM}=${encodeURIComponent(message.id)}`,
        });
        return { ok: true, providerMessageId: sent.sid };
      } catch (error) {
        return toProviderError(error);
      }
    },
  };
}

function withPrefix(address: string): string {
  return address.startsWith(WHATSAPP) ? address : `${WHATSAPP}${address}`;
}

function twilioCredentials(credentials: GatewayForSend['credentials']): TwilioCredentials | null {
  const c = credentials as Partial<TwilioCredentials> | null;
  if (!c || typeof c.accountSid !== 'string' || typeof c.authToken !== 'string' || typeof c.from !== 'string') return null;
  return c as TwilioCredentials;
}
