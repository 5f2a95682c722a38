// The API's enums: the domain's closed sets (domain/enums.ts, domain/refusal.ts),
// registered with type-graphql here, in the GraphQL layer, so services that use the
// sets never register anything. graphql/schema.ts imports this before building.
import { registerEnumType } from 'type-graphql';
import {
  ApiKeyRole,
  Channel,
  CircuitState,
  DeliveryOutcome,
  MessageCategory,
  MessageStatus,
  Provider,
  RecipientKind,
  RoutingStrategy,
  SmsEncoding,
  SuppressionSource,
  WebhookDeliveryOutcome,
  WebhookEventType,
} from '../domain/enums.js';
import { UserErrorCode } from '../domain/refusal.js';

export {
  ApiKeyRole,
  Channel,
  CircuitState,
  DeliveryOutcome,
  MessageCategory,
  MessageStatus,
  Provider,
  RecipientKind,
  RoutingStrategy,
  SmsEncoding,
  SuppressionSource,
  WebhookDeliveryOutcome,
  WebhookEventType,
} from '../domain/enums.js';
export { UserErrorCode } from '../domain/refusal.js';

registerEnumType(Channel, { name: 'Channel', description: 'Channels a message can travel on.' });
registerEnumType(Provider, {
  name: 'Provider',
  description: 'The company whose API a gateway calls. SANDBOX records and never leaves the process.',
});
registerEnumType(RecipientKind, { name: 'RecipientKind' });
registerEnumType(ApiKeyRole, { name: 'ApiKeyRole' });
registerEnumType(UserErrorCode, { name: 'UserErrorCode' });
registerEnumType(MessageStatus, {
  name: 'MessageStatus',
  description: [
    'Lifecycle of a message. SCHEDULED waits for sendAt or the end of quiet hours; QUEUED',
    'waits for a worker; SENDING is with a worker; SENT was accepted by the provider;',
    "DELIVERED was confirmed by the provider's delivery receipt; FAILED is final after",
    'retries or a permanent provider error; CANCELLED was cancelled before sending.',
  ].join('\n'),
});
registerEnumType(DeliveryOutcome, { name: 'DeliveryOutcome' });
registerEnumType(MessageCategory, {
  name: 'MessageCategory',
  valuesConfig: {
    TRANSACTIONAL: { description: 'What the recipient is waiting for (a code, an order, an invoice): the default.' },
    MARKETING: {
      description: 'Promotion: what quiet hours hold unless their window lists more, and what STOP and unsubscribe always stop.',
    },
  },
});
registerEnumType(SmsEncoding, {
  name: 'SmsEncoding',
  description:
    'GSM7: the GSM 7-bit default alphabet, 160 characters in one segment, 153 per segment when split. UCS2: 16-bit, needed by any other character, 70 and 67.',
});
registerEnumType(WebhookEventType, {
  name: 'WebhookEventType',
  description: 'What an endpoint is told about. In the JSON body: message.queued, message.delivered, …',
});
registerEnumType(WebhookDeliveryOutcome, {
  name: 'WebhookDeliveryOutcome',
  valuesConfig: {
    SUCCEEDED: { description: '2xx.' },
    FAILED: { description: 'Another answer, a timeout or a refused address; retried unless the answer was a 4xx other than 408/429.' },
  },
});
registerEnumType(SuppressionSource, {
  name: 'SuppressionSource',
  description: 'Where a suppression came from.',
  valuesConfig: {
    API: { description: 'addSuppression.' },
    INBOUND_STOP: { description: 'An inbound STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT).' },
    PROVIDER_OPT_OUT: {
      description: 'The provider reported an opt-out: Twilio error 21610, SendGrid unsubscribe or group_unsubscribe events.',
    },
    UNSUBSCRIBE_LINK: { description: "Herald's own one-click unsubscribe URL (List-Unsubscribe)." },
    BOUNCE: { description: 'A hard bounce (SendGrid bounce event of type bounce).' },
    SPAM_REPORT: { description: 'The recipient reported the e-mail as spam (SendGrid spamreport event).' },
  },
});
registerEnumType(RoutingStrategy, {
  name: 'RoutingStrategy',
  valuesConfig: {
    PRIORITY: { description: 'Always the healthy gateway with the lowest priority number.' },
    WEIGHTED: { description: 'Healthy gateways share the traffic in proportion to their weights.' },
  },
});
registerEnumType(CircuitState, { name: 'CircuitState' });
