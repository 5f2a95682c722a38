// One interface for every channel and vendor. Adapters fold vendor errors into three
// kinds the dispatcher acts on; the vendor's own code is kept for the log.
import type { Channel, Provider as ProviderName } from './channels.js';
import type { Credentials } from './credentials.js';

/** What an adapter needs to send one message: nothing it could use to reach the database. */
export interface OutboundMessage {
  /** Herald's message id (uuid), carried to the vendor where it allows (custom_args, …). */
  id: string;
  channel: Channel;
  /** Full address: E.164 phone, e-mail address, or X user id/handle. */
  destination: string;
  body: string;
  subject?: string | null;
  htmlBody?: string | null;
  /** Extra e-mail headers (List-Unsubscribe); channels without headers ignore them. */
  headers?: Record<string, string>;
}

export interface GatewayForSend {
  id: string;
  provider: ProviderName;
  /** Decrypted credentials; null for SANDBOX. */
  credentials: Credentials | null;
}

export interface SendSuccess {
  ok: true;
  providerMessageId: string;
}

export type ProviderErrorKind = 'transient' | 'rate_limited' | 'permanent';

export interface ProviderError {
  ok: false;
  kind: ProviderErrorKind;
  /** The vendor's code as a string (Twilio "21211", HTTP "503", "ETIMEDOUT"). */
  code: string;
  /** Words a support person understands. Never contains credentials. */
  message: string;
  /** rate_limited: when the vendor said to come back. */
  retryAt?: Date;
  /**
   * permanent: the refusal is about the gateway itself (its credentials, its account), not
   * the message or its destination: another gateway may well send it.
   */
  aboutGateway?: boolean;
  /** permanent: the destination opted out with the provider (Twilio 21610); Herald suppresses it. */
  optedOut?: boolean;
}

export type SendResult = SendSuccess | ProviderError;

export interface Provider {
  send(message: OutboundMessage, gateway: GatewayForSend): Promise<SendResult>;
  /**
   * Channels that address people by a name the vendor must resolve first (X: @handle →
   * user id). The dispatcher caches the answer on the recipient, so it is asked once.
   * Unknown name → a permanent error.
   */
  resolveRecipient?(name: string, gateway: GatewayForSend): Promise<{ ok: true; id: string } | ProviderError>;
}

/** Where each vendor SDK sends its requests (TWILIO_API_BASE_URL …) and the status callback base. */
export interface ProviderSettings {
  baseUrls: { twilio?: string; sendgrid?: string; twitter?: string };
  publicUrl: string;
  /** Per-request timeout; a timeout is a transient error. */
  timeoutMs: number;
}
