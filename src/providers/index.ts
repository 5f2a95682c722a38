// The provider for a gateway: one adapter per vendor, chosen by the gateway's provider.
import type { Provider as ProviderName } from './channels.js';
import { createSandboxProvider } from './sandbox/sandbox-provider.js';
import { createSendgridProvider } from './sendgrid/sendgrid-provider.js';
import { createTwilioProvider } from './twilio/twilio-provider.js';
import { createTwitterProvider } from './twitter/twitter-provider.js';
import type { Provider, ProviderSettings } from './types.js';

export type { GatewayForSend, OutboundMessage, Provider, ProviderError, ProviderSettings, SendResult } from './types.js';
export { clearSandboxOutbox, sandboxOutbox } from './sandbox/sandbox-provider.js';

export type ProviderFactory = (provider: ProviderName) => Provider;

/** Adapters are made once here and shared: each is safe to call concurrently. */
export function createProviders(settings: ProviderSettings): ProviderFactory {
  const twilio = createTwilioProvider(settings);
  const sandbox = createSandboxProvider();
  const sendgrid = createSendgridProvider(settings);
  const twitter = createTwitterProvider(settings);

  return (provider: ProviderName): Provider => {
    switch (provider) {
      case 'TWILIO':
        return twilio;
      case 'SANDBOX':
        return sandbox;
      case 'SENDGRID':
        return sendgrid;
      case 'TWITTER':
        return twitter;
      default: {
        const unknown: never = provider;
        throw new Error(`no adapter for provider ${String(unknown)}`);
      }
    }
  };
}
