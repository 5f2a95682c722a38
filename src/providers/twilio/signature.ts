// Twilio's X-Twilio-Signature: an HMAC with the account's auth token over the full URL
// (query included) and the posted parameters.
import twilio from 'twilio';

export function twilioSignatureHolds(authToken: string, signature: string, url: string, params: Record<string, string>): boolean {
  return twilio.validateRequest(authToken, signature, url, params);
}
