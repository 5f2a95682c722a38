// E-mail through SendGrid's v3 mail/send. Each gateway sends with its own API key and
// sender; delivery events arrive later on /webhooks/sendgrid/events and find their message
// by the custom_args sent here.
import type { SendgridCredentials } from '../credentials.js';
import { headerValue } from '../retry-after.js';
import type { GatewayForSend, OutboundMessage, Provider, ProviderError, ProviderSettings, SendResult } from '../types.js';
import { sendgridMailService } from './sendgrid-api.js';
import { toProviderError } from './transform.js';

/** The custom_args key carrying Herald's message id; SendGrid echoes it on every event. */
export const MESSAGE_ID_ARG = 'herald_message_id';

export function createSendgridProvider(settings: ProviderSettings): Provider {
  return {
    async send(message: OutboundMessage, gateway: GatewayForSend): Promise<SendResult> {
      const credentials = sendgridCredentials(gateway.credentials);
      if (!credentials) {
        return { ...refuse('GATEWAY_MISCONFIGURED', 'the SendGrid gateway has no usable credentials'), aboutGateway: true };
      }
      if (message.channel !== 'EMAIL') {
        return refuse('UNSUPPORTED_CHANNEL', `SendGrid gateways do not carry ${message.channel}`);
      }
      // SendGrid would answer 400 to these; saying so here costs no request and reads better.
      const subject = message.subject ?? '';
      if (subject.trim() === '') return refuse('MISSING_SUBJECT', 'an e-mail needs a subject');
      const text = message.body || undefined;
      const html = message.htmlBody || undefined;
      // text/plain first, then text/html: the order SendGrid requires, which the SDK keeps.
      const content = text !== undefined ? { text, ...(html !== undefined ? { html } : {}) } : html !== undefined ? { html } : undefined;
      if (!content) return refuse('MISSING_CONTENT', 'an e-mail needs a text or HTML body');

      const service = sendgridMailService({
        apiKey: credentials.apiKey,
        baseUrl: settings.baseUrls.sendgrid,
        timeoutMs: settings.timeoutMs,
      });
      try {
        const [response] = await service.send({
          to: message.destination,
          from: credentials.from,
          subject,
          ...content,
          customArgs: { [MESSAGE_ID_ARG]: message.id },
          ...(message.headers ? { headers: message.headers } : {}),
        });
        // SendGrid documents X-Message-Id on every 202. Were it missing, the mail was still
        // accepted and a retry would deliver it twice; events find the message by custom_args,
        // so Herald's own id stands in.
        return { ok: true, providerMessageId: headerValue(response.headers, 'x-message-id') ?? `herald:${message.id}` };
      } catch (error) {
        return toProviderError(error, new Date(), [credentials.apiKey]);
      }
    },
  };
}

function refuse(code: string, message: string): ProviderError {
  return { ok: false, kind: 'permanent', code, message };
}

function sendgridCredentials(credentials: GatewayForSend['credentials']): SendgridCredentials | null {
  const c = credentials as Partial<SendgridCredentials> | null;
  if (!c || typeof c.apiKey !== 'string' || c.apiKey === '' || typeof c.from !== 'string' || c.from === '') return null;
  return c as SendgridCredentials;
}
