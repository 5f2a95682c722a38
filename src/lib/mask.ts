// Masking for anything that names a person's address in a response or a log line.
import type { Channel } from '../domain/enums.js';
import { ERASED } from '../domain/erasure.js';

/**
 * +14155550123 → +1*******0123: the first digit and the last four kept, the middle a
 * fixed run of stars so the mask does not even tell the number's length.
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/^\+/, '');
  if (digits.length <= 5) return '*'.repeat(phone.length);
  return `+${digits.slice(0, 1)}*******${digits.slice(-4)}`;
}

/** jane@example.com → j***@example.com */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** A message's destination as the API shows it, by channel; an erased one as it is. */
export function maskDestination(channel: Channel, destination: string): string {
  if (destination === ERASED) return ERASED;
  switch (channel) {
    case 'SMS':
    case 'WHATSAPP':
      return maskPhone(destination);
    case 'EMAIL':
      return maskEmail(destination);
    case 'TWITTER_DM':
      return destination.length <= 2 ? '***' : `${destination.slice(0, 2)}***`;
  }
}
