import { describe, expect, it } from 'vitest';
import { ERASED } from '../../domain/erasure.js';
import { renderPayload, type MessageSnapshot } from '../webhooks/webhook-payload.js';
import { erasedEvent, erasedMessage, messageTerms, scrubber, termsOf } from './scrub.js';

const ada = {
  displayName: 'Ada Lovelace',
  externalRef: 'CRM-1815',
  phone: '+14155550123',
  email: 'ada@example.com',
  whatsapp: '+447911123456',
  twitterHandle: 'ada_l',
  twitterUserId: '987654321',
};

describe('the words that name a person', () => {
  const scrub = scrubber(termsOf(ada));

  it('replaces the name and every address, whole, without its +, and masked', () => {
    expect(scrub('Ada Lovelace has no X handle')).toBe(`${ERASED} has no X handle`);
    expect(scrub("The 'To' number +14155550123 is not a valid phone number.")).toBe(
      `The 'To' number ${ERASED} is not a valid phone number.`,
    );
    expect(scrub('to 14155550123 refused')).toBe(`to ${ERASED} refused`);
    expect(scrub('Twilio refused +1*******0123 (21610)')).toBe(`Twilio refused ${ERASED} (21610)`);
    expect(scrub('550 5.1.1 <ADA@example.com>: user unknown')).toBe(`550 5.1.1 <${ERASED}>: user unknown`);
    expect(scrub('bounced for a***@example.com')).toBe(`bounced for ${ERASED}`);
    expect(scrub('X account @ada_l cannot be messaged')).toBe(`X account @${ERASED} cannot be messaged`);
    expect(scrub('WhatsApp +4*******3456 unreachable')).toBe(`WhatsApp ${ERASED} unreachable`);
  });

  it('leaves other words alone, even those that contain a term', () => {
    expect(scrub('gave up after 3 attempts: Twilio is unavailable (HTTP 503)')).toBe(
      'gave up after 3 attempts: Twilio is unavailable (HTTP 503)',
    );
    expect(scrub('+141555501234 and ada_lovelace and Ada Lovelaces')).toBe('+141555501234 and ada_lovelace and Ada Lovelaces');
  });

  it('takes no one-letter name and nothing already erased', () => {
    const terms = termsOf({ ...ada, displayName: 'A', phone: null, email: null, whatsapp: null, twitterHandle: null, twitterUserId: null });
    expect(scrubber(terms)('A is subscribed to SMS but has no phone number')).toBe('A is subscribed to SMS but has no phone number');
    expect(termsOf({ ...ada, displayName: ERASED })).not.toContain(ERASED);
  });

  it('adds the address a message went to, which the recipient may no longer have', () => {
    const scrubOld = scrubber(messageTerms(termsOf(ada), 'SMS', '+14155559999'));
    expect(scrubOld('sent to +14155559999 and +1*******9999')).toBe(`sent to ${ERASED} and ${ERASED}`);
  });
});

describe('an erased message', () => {
  const message = {
    body: 'Hi Ada, your code is 4417',
    subject: null,
    htmlBody: null,
    destination: '+14155550123',
    errorMessage: 'The number +14155550123 is unreachable',
    fallback: [
      { channel: 'EMAIL' as const, subject: 'Code', body: 'Hi Ada', htmlBody: null, templateId: null, templateVersion: null, locale: null },
    ],
    requestHash: 'abc',
  };
  const scrub = scrubber(termsOf(ada));

  it('keeps nothing of the text and the address; its error says what it said, without them', () => {
    expect(erasedMessage(message, scrub)).toEqual({
      body: ERASED,
      subject: null,
      htmlBody: null,
      destination: ERASED,
      errorMessage: `The number ${ERASED} is unreachable`,
      fallback: null,
      requestHash: null,
    });
    expect(erasedMessage({ ...message, subject: 'Your code, Ada', htmlBody: '<p>Hi</p>' }, scrub)).toMatchObject({
      subject: ERASED,
      htmlBody: null,
    });
  });

  it('is left as it is once erased', () => {
    expect(erasedMessage(erasedMessage(message, scrub)!, scrub)).toBeUndefined();
  });
});

describe('an event of an erased message', () => {
  const snapshot: MessageSnapshot = {
    id: '0190a5f4-0000-7000-8000-000000000001',
    recipientId: '0190a5f4-0000-7000-8000-000000000002',
    gatewayId: null,
    channel: 'SMS',
    status: 'FAILED',
    destination: '+14155550123',
    reference: 'ref-1',
    templateId: null,
    templateVersion: null,
    locale: null,
    orderId: null,
    invoiceNumber: null,
    attempts: 1,
    providerMessageId: null,
    errorCode: '21211',
    errorMessage: "The 'To' number +14155550123 is not a valid phone number.",
    scheduledAt: null,
    sentAt: null,
    deliveredAt: null,
    createdAt: '2026-01-01T00:00:00.000000Z',
    at: '2026-01-01T00:00:01.000000Z',
  };
  const scrub = scrubber(termsOf(ada));

  it('renders the erased values in the same shape, whether it was rendered already or not', () => {
    const rendered = erasedEvent({ snapshot: null, payload: renderPayload('MESSAGE_FAILED', snapshot) }, scrub)!;
    const unrendered = erasedEvent({ snapshot, payload: null }, scrub)!;
    expect(rendered.payload).toBe(renderPayload('MESSAGE_FAILED', unrendered.snapshot as MessageSnapshot));
    expect(rendered.payload).not.toContain('0123');
    expect(JSON.parse(rendered.payload!).data).toMatchObject({
      destination: ERASED,
      errorMessage: `The 'To' number ${ERASED} is not a valid phone number.`,
      reference: 'ref-1',
    });
    expect(erasedEvent(rendered, scrub)).toBeUndefined();
  });
});
