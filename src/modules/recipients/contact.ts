import type { Channel } from '../../domain/enums.js';
import type { RecipientRow } from './recipients.queries.js';

/** The recipient's field each channel sends to. */
const CONTACT_FIELD = { SMS: 'phone', EMAIL: 'email', WHATSAPP: 'whatsapp', TWITTER_DM: 'twitterHandle' } as const satisfies Record<
  Channel,
  keyof RecipientRow
>;

/** That field in words, for refusals and failure reasons: "has no phone number". */
export const CONTACT_NAME: Record<Channel, string> = {
  SMS: 'phone number',
  EMAIL: 'e-mail address',
  WHATSAPP: 'WhatsApp number',
  TWITTER_DM: 'X handle',
};

/** Where a message on `channel` to this recipient goes, or null when they have no address for it. */
export function contactFor(recipient: RecipientRow, channel: Channel): string | null {
  return recipient[CONTACT_FIELD[channel]] ?? null;
}
