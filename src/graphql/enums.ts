// The closed sets of the API. Values equal the database enums (db/schema/enums.ts).
import { registerEnumType } from 'type-graphql';

export enum Channel {
  SMS = 'SMS',
  EMAIL = 'EMAIL',
  WHATSAPP = 'WHATSAPP',
  TWITTER_DM = 'TWITTER_DM',
}
export enum Provider {
  TWILIO = 'TWILIO',
  SENDGRID = 'SENDGRID',
  TWITTER = 'TWITTER',
  SANDBOX = 'SANDBOX',
}
export enum RecipientKind {
  CLIENT = 'CLIENT',
  STAFF = 'STAFF',
  CUSTOMER = 'CUSTOMER',
}
export enum ApiKeyRole {
  ADMIN = 'ADMIN',
  SENDER = 'SENDER',
  READER = 'READER',
}
export enum UserErrorCode {
  INVALID_INPUT = 'INVALID_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  RECIPIENT_NOT_REACHABLE = 'RECIPIENT_NOT_REACHABLE',
  NOT_SUBSCRIBED = 'NOT_SUBSCRIBED',
  GATEWAY_NOT_CONFIGURED = 'GATEWAY_NOT_CONFIGURED',
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  INVALID_STATE = 'INVALID_STATE',
}

registerEnumType(Channel, { name: 'Channel', description: 'Channels a message can travel on.' });
registerEnumType(Provider, {
  name: 'Provider',
  description: 'The company whose API a gateway calls. SANDBOX records and never leaves the process.',
});
registerEnumType(RecipientKind, { name: 'RecipientKind' });
registerEnumType(ApiKeyRole, { name: 'ApiKeyRole' });
registerEnumType(UserErrorCode, { name: 'UserErrorCode' });

export const ALL_CHANNELS = Object.values(Channel);

export enum MessageStatus {
  SCHEDULED = 'SCHEDULED',
  QUEUED = 'QUEUED',
  SENDING = 'SENDING',
  SENT = 'SENT',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
export enum DeliveryOutcome {
  SUCCESS = 'SUCCESS',
  FAILURE = 'FAILURE',
}

registerEnumType(MessageStatus, {
  name: 'MessageStatus',
  description: [
    'Lifecycle of a message. SCHEDULED waits for sendAt; QUEUED waits for a worker;',
    'SENDING is with a worker; SENT was accepted by the provider; DELIVERED was confirmed',
    "by the provider's delivery receipt; FAILED is final after retries or a permanent",
    'provider error; CANCELLED was cancelled before sending.',
  ].join('\n'),
});
registerEnumType(DeliveryOutcome, { name: 'DeliveryOutcome' });
