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

/**
 * What a message is for. MARKETING is what consent rules are about (quiet hours hold it,
 * an unsubscribe always stops it); TRANSACTIONAL is what the recipient is waiting for.
 */
export const MESSAGE_CATEGORIES = ['TRANSACTIONAL', 'MARKETING'] as const;
export type MessageCategory = (typeof MESSAGE_CATEGORIES)[number];
export const MessageCategory = enumOf(MESSAGE_CATEGORIES);

/** Where a suppression came from (modules/suppressions). */
export const SUPPRESSION_SOURCES = ['API', 'INBOUND_STOP', 'PROVIDER_OPT_OUT', 'UNSUBSCRIBE_LINK', 'BOUNCE', 'SPAM_REPORT'] as const;
export type SuppressionSource = (typeof SUPPRESSION_SOURCES)[number];
export const SuppressionSource = enumOf(SUPPRESSION_SOURCES);

/** How an SMS text is encoded on the network: 7-bit GSM default alphabet, or UCS-2 (16-bit). */
export const SMS_ENCODINGS = ['GSM7', 'UCS2'] as const;
export type SmsEncoding = (typeof SMS_ENCODINGS)[number];
export const SmsEncoding = enumOf(SMS_ENCODINGS);

/** The flows whose texts are the tenant's built-in templates. */
export const BUILT_IN_TEMPLATES = ['ORDER_STATUS', 'INVOICE_DUE'] as const;
export type BuiltInTemplate = (typeof BUILT_IN_TEMPLATES)[number];
export const BuiltInTemplate = enumOf(BUILT_IN_TEMPLATES);

/** What an event webhook endpoint can be told about (message.queued, … in the JSON body). */
export const WEBHOOK_EVENT_TYPES = [
  'MESSAGE_SCHEDULED',
  'MESSAGE_QUEUED',
  'MESSAGE_SENT',
  'MESSAGE_DELIVERED',
  'MESSAGE_FAILED',
  'MESSAGE_CANCELLED',
  'SUPPRESSION_ADDED',
  'SUPPRESSION_REMOVED',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const WebhookEventType = enumOf(WEBHOOK_EVENT_TYPES);

/** How one attempt to deliver an event to an endpoint ended. */
export const WEBHOOK_DELIVERY_OUTCOMES = ['SUCCEEDED', 'FAILED'] as const;
export type WebhookDeliveryOutcome = (typeof WEBHOOK_DELIVERY_OUTCOMES)[number];
export const WebhookDeliveryOutcome = enumOf(WEBHOOK_DELIVERY_OUTCOMES);

/** How a channel's sends are spread over its gateways. */
export const ROUTING_STRATEGIES = ['PRIORITY', 'WEIGHTED'] as const;
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];
export const RoutingStrategy = enumOf(ROUTING_STRATEGIES);

/** A gateway's circuit breaker. */
export const CIRCUIT_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];
export const CircuitState = enumOf(CIRCUIT_STATES);
