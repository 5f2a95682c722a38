// SANDBOX: a gateway that keeps what it is given in this process and never leaves it.
// Tests and fresh installs use it; Twilio's magic invalid number fails as Twilio would.
import { randomUUID } from 'node:crypto';
import { maskPhone } from '../../lib/mask.js';
import type { Channel } from '../channels.js';
import type { GatewayForSend, OutboundMessage, Provider, SendResult } from '../types.js';

/** Twilio's test number that is "not a valid phone number" (error 21211). */
export const SANDBOX_INVALID_NUMBER = '+15005550001';

/** Only the newest sends are kept: the sandbox must not grow a long-running process without bound. */
export const SANDBOX_OUTBOX_LIMIT = 1000;

export interface SandboxSend {
  providerMessageId: string;
  messageId: string;
  gatewayId: string;
  channel: Channel;
  destination: string;
  body: string;
  subject: string | null;
  htmlBody: string | null;
  sentAt: Date;
}

const outbox: SandboxSend[] = [];

/** What the sandbox has accepted in this process, oldest first (a copy). */
export function sandboxOutbox(): SandboxSend[] {
  return outbox.slice();
}

export function clearSandboxOutbox(): void {
  outbox.length = 0;
}

export function createSandboxProvider(): Provider {
  return {
    async send(message: OutboundMessage, gateway: GatewayForSend): Promise<SendResult> {
      if (message.destination === SANDBOX_INVALID_NUMBER) {
        return {
          ok: false,
          kind: 'permanent',
          code: '21211',
          message: `The 'To' number ${maskPhone(message.destination)} is not a valid phone number`,
        };
      }
      const sent: SandboxSend = {
        providerMessageId: `sandbox-${randomUUID()}`,
        messageId: message.id,
        gatewayId: gateway.id,
        channel: message.channel,
        destination: message.destination,
        body: message.body,
        subject: message.subject ?? null,
        htmlBody: message.htmlBody ?? null,
        sentAt: new Date(),
      };
      outbox.push(sent);
      if (outbox.length > SANDBOX_OUTBOX_LIMIT) outbox.splice(0, outbox.length - SANDBOX_OUTBOX_LIMIT);
      return { ok: true, providerMessageId: sent.providerMessageId };
    },
  };
}
