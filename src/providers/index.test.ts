import { beforeEach, describe, expect, it } from 'vitest';
import { clearSandboxOutbox, createProviders, sandboxOutbox } from './index.js';
import type { OutboundMessage } from './types.js';

const providers = createProviders({ baseUrls: {}, publicUrl: 'http://127.0.0.1:4000', timeoutMs: 10_000 });
const gateway = { id: 'gw-sandbox', provider: 'SANDBOX' as const, credentials: null };
const message = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
  id: '0190f2a4-0000-7000-8000-000000000001',
  channel: 'SMS',
  destination: '+14155550123',
  body: 'Table for two at 8pm confirmed',
  ...overrides,
});

beforeEach(() => clearSandboxOutbox());

describe('sandbox provider', () => {
  it('accepts a message and keeps it in the outbox', async () => {
    const result = await providers('SANDBOX').send(message(), gateway);
    expect(result.ok).toBe(true);
    const id = result.ok ? result.providerMessageId : '';
    expect(id).toMatch(/^sandbox-[0-9a-f-]{36}$/);
    expect(sandboxOutbox()).toEqual([
      expect.objectContaining({
        providerMessageId: id,
        messageId: message().id,
        gatewayId: 'gw-sandbox',
        channel: 'SMS',
        destination: '+14155550123',
        body: 'Table for two at 8pm confirmed',
      }),
    ]);
  });

  it("fails Twilio's invalid test number permanently, masked", async () => {
    const result = await providers('SANDBOX').send(message({ destination: '+15005550001' }), gateway);
    expect(result).toEqual({
      ok: false,
      kind: 'permanent',
      code: '21211',
      message: "The 'To' number +1*******0001 is not a valid phone number",
    });
    expect(sandboxOutbox()).toHaveLength(0);
  });

  it('keeps only the newest sends', async () => {
    const sandbox = providers('SANDBOX');
    for (let i = 0; i < 1005; i++) await sandbox.send(message({ body: `n${i}` }), gateway);
    const outbox = sandboxOutbox();
    expect(outbox).toHaveLength(1000);
    expect(outbox[0].body).toBe('n5');
    expect(outbox.at(-1)!.body).toBe('n1004');
  });
});

describe('provider factory', () => {
  it('has a SendGrid adapter that fails a gateway without credentials, sending nothing', async () => {
    const email = message({ channel: 'EMAIL', destination: 'jane@example.com', subject: 'Your table' });
    expect(await providers('SENDGRID').send(email, { id: 'g', provider: 'SENDGRID', credentials: null })).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 'GATEWAY_MISCONFIGURED',
    });
  });

  it('has an X adapter that resolves handles and fails a gateway without credentials, sending nothing', async () => {
    const twitter = providers('TWITTER');
    expect(typeof twitter.resolveRecipient).toBe('function');
    const gatewayWithout = { id: 'g', provider: 'TWITTER' as const, credentials: null };
    expect(await twitter.send(message({ channel: 'TWITTER_DM', destination: '2244994945' }), gatewayWithout)).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 'GATEWAY_MISCONFIGURED',
    });
    expect(await twitter.resolveRecipient!('jane', gatewayWithout)).toMatchObject({
      ok: false,
      kind: 'permanent',
      code: 'GATEWAY_MISCONFIGURED',
    });
  });

  it('gives the same adapter for the same provider', () => {
    expect(providers('TWILIO')).toBe(providers('TWILIO'));
    expect(providers('SENDGRID')).toBe(providers('SENDGRID'));
    expect(providers('SANDBOX')).not.toBe(providers('TWILIO'));
  });
});
