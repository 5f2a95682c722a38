// Herald's closed sets, one definition each: the database enums (db/schema), the
// services and the GraphQL enums (graphql/enums.ts registers them) all use these.
import { enumOf } from '../lib/enum-of.js';

export { CHANNELS, Channel, PROVIDERS, Provider } from '../providers/channels.js';

export const RECIPIENT_KINDS = ['CLIENT', 'STAFF', 'CUSTOMER'] as const;
export type RecipientKind = (typeof RECIPIENT_KINDS)[number];
export const RecipientKind = enumOf(RECIPIENT_KINDS);

export const API_KEY_ROLES = ['ADMIN', 'SENDER', 'READER'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];
export const ApiKeyRole = enumOf(API_KEY_ROLES);

export const MESSAGE_STATUSES = ['SCHEDULED', 'QUEUED', 'SENDING', 'SENT', 'DELIVERED', 'FAILED', 'CANCELLED'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export const MessageStatus = enumOf(MESSAGE_STATUSES);

export const DELIVERY_OUTCOMES = ['SUCCESS', 'FAILURE'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];
export const DeliveryOutcome = enumOf(DELIVERY_OUTCOMES);
