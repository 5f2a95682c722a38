import { pgEnum } from 'drizzle-orm/pg-core';
import {
  API_KEY_ROLES,
  CIRCUIT_STATES,
  ROUTING_STRATEGIES,
  CHANNELS,
  MESSAGE_CATEGORIES,
  PROVIDERS,
  RECIPIENT_KINDS,
  SMS_ENCODINGS,
  SUPPRESSION_SOURCES,
  WEBHOOK_DELIVERY_OUTCOMES,
  WEBHOOK_EVENT_TYPES,
} from '../../domain/enums.js';

export const channelEnum = pgEnum('channel', CHANNELS);
export const providerEnum = pgEnum('provider', PROVIDERS);
export const recipientKindEnum = pgEnum('recipient_kind', RECIPIENT_KINDS);
export const apiKeyRoleEnum = pgEnum('api_key_role', API_KEY_ROLES);
export const smsEncodingEnum = pgEnum('sms_encoding', SMS_ENCODINGS);
export const webhookEventTypeEnum = pgEnum('webhook_event_type', WEBHOOK_EVENT_TYPES);
export const routingStrategyEnum = pgEnum('routing_strategy', ROUTING_STRATEGIES);
export const circuitStateEnum = pgEnum('circuit_state', CIRCUIT_STATES);
export const messageCategoryEnum = pgEnum('message_category', MESSAGE_CATEGORIES);
export const suppressionSourceEnum = pgEnum('suppression_source', SUPPRESSION_SOURCES);
export const webhookDeliveryOutcomeEnum = pgEnum('webhook_delivery_outcome', WEBHOOK_DELIVERY_OUTCOMES);

export type {
  ApiKeyRole as ApiKeyRoleValue,
  Channel as ChannelValue,
  MessageCategory as MessageCategoryValue,
  Provider as ProviderValue,
  RecipientKind as RecipientKindValue,
  SuppressionSource as SuppressionSourceValue,
} from '../../domain/enums.js';
