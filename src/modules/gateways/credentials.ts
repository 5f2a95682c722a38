// What each provider needs to send, checked before anything is stored. Messages name
// fields, never their values: these are secrets.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { EMAIL_PATTERN } from '../../config.js';
import { Channel, Provider } from '../../domain/enums.js';
import type { Credentials, TwitterCredentials } from '../../providers/credentials.js';
import { isSendgridVerificationKey } from '../../providers/sendgrid/signature.js';

/** Which providers can carry which channel. */
export const PROVIDERS_FOR: Record<Channel, Provider[]> = {
  [Channel.SMS]: [Provider.TWILIO, Provider.SANDBOX],
  [Channel.WHATSAPP]: [Provider.TWILIO, Provider.SANDBOX],
  [Channel.EMAIL]: [Provider.SENDGRID, Provider.SANDBOX],
  [Channel.TWITTER_DM]: [Provider.TWITTER, Provider.SANDBOX],
};

const FIELDS: Record<Provider, string[]> = {
  [Provider.TWILIO]: ['accountSid', 'authToken', 'from'],
  [Provider.SENDGRID]: ['apiKey', 'from'],
  [Provider.TWITTER]: ['appKey', 'appSecret', 'accessToken', 'accessSecret'],
  [Provider.SANDBOX]: [],
};
const OPTIONAL: Partial<Record<Provider, string[]>> = {
  [Provider.SENDGRID]: ['webhookPublicKey'],
};

/** Parsed and normalized credentials, or the reason they are refused. */
export function parseCredentials(provider: Provider, raw: string | null | undefined): { value?: Credentials; problem?: string } {
  const expected = FIELDS[provider];
  if (expected.length === 0) {
    if (raw === null || raw === undefined || raw.trim() === '' || raw.trim() === '{}') return {};
    return { problem: 'SANDBOX gateways take no credentials' };
  }
  if (raw === null || raw === undefined || raw.trim() === '') {
    return { problem: `${provider} credentials are required: a JSON object with ${expected.join(', ')}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { problem: 'credentials must be a JSON object' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: 'credentials must be a JSON object' };
  const record = parsed as Record<string, unknown>;
  const optional = (OPTIONAL[provider] ?? []).filter((k) => record[k] !== undefined && record[k] !== null);
  const known = [...expected, ...(OPTIONAL[provider] ?? [])];
  const unknown = Object.keys(record).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    return { problem: `credentials have unknown fields: ${unknown.join(', ')} (${provider} takes ${known.join(', ')})` };
  const missing = expected.filter((k) => typeof record[k] !== 'string' || record[k].trim() === '');
  if (missing.length > 0) return { problem: `credentials miss ${missing.join(', ')} (non-empty strings)` };
  const notStrings = optional.filter((k) => typeof record[k] !== 'string' || record[k].trim() === '');
  if (notStrings.length > 0) return { problem: `credentials field ${notStrings.join(', ')} must be a non-empty string when given` };
  const tooLong = [...expected, ...optional].filter((k) => (record[k] as string).length > 512);
  if (tooLong.length > 0) return { problem: `credentials field ${tooLong.join(', ')} is too long` };
  const values = Object.fromEntries([...expected, ...optional].map((k) => [k, (record[k] as string).trim()]));

  switch (provider) {
    case Provider.TWILIO: {
      if (!/^AC[0-9a-fA-F]{32}$/.test(values.accountSid)) return { problem: 'accountSid must be "AC" followed by 32 hex characters' };
      const from = normalizePhone(values.from.replace(/^whatsapp:/, ''));
      if (!from) return { problem: 'from must be a phone number in E.164 form, e.g. +14155550123' };
      return { value: { accountSid: values.accountSid, authToken: values.authToken, from } };
    }
    case Provider.SENDGRID:
      if (!EMAIL_PATTERN.test(values.from)) return { problem: 'from must be an e-mail address' };
      if (values.webhookPublicKey !== undefined && !isSendgridVerificationKey(values.webhookPublicKey)) {
        return { problem: 'webhookPublicKey must be the verification key SendGrid shows for the signed event webhook (base64)' };
      }
      return {
        value: {
          apiKey: values.apiKey,
          from: values.from,
          ...(values.webhookPublicKey !== undefined ? { webhookPublicKey: values.webhookPublicKey } : {}),
        },
      };
    case Provider.TWITTER:
      return { value: values as unknown as TwitterCredentials };
  }
  return {};
}

/** E.164 form of a phone number written with its country code, or null. */
export function normalizePhone(input: string): string | null {
  if (!/^\+?[\d\s().-]{4,32}$/.test(input.trim()) || !input.trim().startsWith('+')) return null;
  const parsed = parsePhoneNumberFromString(input.trim());
  return parsed?.isValid() ? parsed.number : null;
}
