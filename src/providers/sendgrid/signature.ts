// SendGrid's signed event webhook: an ECDSA signature over timestamp + raw body, under the
// verification key SendGrid shows for the account's webhook.
import { EventWebhook } from '@sendgrid/eventwebhook';

const webhook = new EventWebhook();

export type SendgridWebhookKey = ReturnType<EventWebhook['convertPublicKeyToECDSA']>;

/** The verification key (base64, as SendGrid shows it) ready to verify with; throws when it is not one. */
export function sendgridWebhookKey(publicKey: string): SendgridWebhookKey {
  return webhook.convertPublicKeyToECDSA(publicKey);
}

export function isSendgridVerificationKey(value: string): boolean {
  try {
    sendgridWebhookKey(value);
    return true;
  } catch {
    return false;
  }
}

/** Whether `key` signed this timestamp and raw body; a malformed signature is simply false. */
export function sendgridSignatureHolds(key: SendgridWebhookKey, rawBody: string, signature: string, timestamp: string): boolean {
  try {
    return webhook.verifySignature(key, rawBody, signature, timestamp);
  } catch {
    return false;
  }
}
