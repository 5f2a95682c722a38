// The channels a message travels on and the vendors that carry them: the one set the
// database enums, the services and the GraphQL enums are made from.
import { enumOf } from '../lib/enum-of.js';

export const CHANNELS = ['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM'] as const;
export type Channel = (typeof CHANNELS)[number];
export const Channel = enumOf(CHANNELS);

export const PROVIDERS = ['TWILIO', 'SENDGRID', 'TWITTER', 'SANDBOX'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const Provider = enumOf(PROVIDERS);
