// A destination as a suppression knows it: one spelling per address, so "+1 (415) 555-0123",
// "whatsapp:+14155550123" and "+14155550123" are one entry, as are "Ada@Example.com" and
// "ada@example.com".
import { EMAIL_PATTERN } from '../../config.js';
import type { Channel } from '../../domain/enums.js';
import { normalizePhone } from '../gateways/credentials.js';

const WHATSAPP_PREFIX = /^whatsapp:/i;
const HANDLE = /^[A-Za-z0-9_]{1,15}$/;

/** What each channel's destination must be, for refusals. */
export const DESTINATION_RULE: Record<Channel, string> = {
  SMS: 'a phone number with its country code, e.g. +14155550123',
  WHATSAPP: 'a phone number with its country code, e.g. +14155550123',
  EMAIL: 'an e-mail address',
  TWITTER_DM: 'an X handle (up to 15 letters, digits or _), with or without "@"',
};

/** The normalized destination given whole (API, webhooks), or null when it is not one of `channel`. */
export function normalizeDestination(channel: Channel, raw: string): string | null {
  const value = raw.trim();
  switch (channel) {
    case 'SMS':
    case 'WHATSAPP':
      return normalizePhone(value.replace(WHATSAPP_PREFIX, ''));
    case 'EMAIL':
      return EMAIL_PATTERN.test(value) ? value.toLowerCase() : null;
    case 'TWITTER_DM': {
      const handle = value.replace(/^@/, '');
      return HANDLE.test(handle) ? handle.toLowerCase() : null;
    }
  }
}

/**
 * A stored destination (a recipient's, a message's) as a suppression knows it. Stored ones
 * were checked when written; one that no longer passes today's check is still compared in
 * the same trimmed, lower-cased form, so it is never silently unmatched.
 */
export function destinationKey(channel: Channel, stored: string): string {
  return normalizeDestination(channel, stored) ?? stored.trim().toLowerCase();
}
