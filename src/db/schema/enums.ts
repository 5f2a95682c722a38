import { pgEnum } from 'drizzle-orm/pg-core';

export const channelEnum = pgEnum('channel', ['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM']);
export const providerEnum = pgEnum('provider', ['TWILIO', 'SENDGRID', 'TWITTER', 'SANDBOX']);
export const recipientKindEnum = pgEnum('recipient_kind', ['CLIENT', 'STAFF', 'CUSTOMER']);
export const apiKeyRoleEnum = pgEnum('api_key_role', ['ADMIN', 'SENDER', 'READER']);

export type ChannelValue = (typeof channelEnum.enumValues)[number];
export type ProviderValue = (typeof providerEnum.enumValues)[number];
export type RecipientKindValue = (typeof recipientKindEnum.enumValues)[number];
export type ApiKeyRoleValue = (typeof apiKeyRoleEnum.enumValues)[number];
