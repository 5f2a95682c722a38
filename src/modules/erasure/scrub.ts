// What erasure does to the rows that mention a person, as pure functions: the words that
// identify them, texts with those words replaced, and a message or webhook event with its
// personal data gone. The service reads the rows and writes back only what changed.
import type { FallbackStepData } from '../../db/schema/index.js';
import type { Channel } from '../../domain/enums.js';
import { ERASED } from '../../domain/erasure.js';
import { maskDestination, maskEmail, maskPhone } from '../../lib/mask.js';

/** Shorter words are left alone: a name of one letter would take every "a" of a reason with it. */
const MIN_TERM_LENGTH = 2;

/** The recipient's fields that identify them, as they were before erasure. */
export interface Identity {
  displayName: string;
  externalRef: string | null;
  phone: string | null;
  email: string | null;
  whatsapp: string | null;
  twitterHandle: string | null;
  twitterUserId: string | null;
}

/**
 * Every way a text Herald or a provider wrote may name the person: their name, each
 * address whole, without its "+", and masked as logs and payloads show it.
 */
export function termsOf(identity: Identity): string[] {
  const terms = [identity.displayName, identity.externalRef, identity.twitterHandle, identity.twitterUserId];
  for (const phone of [identity.phone, identity.whatsapp]) if (phone) terms.push(phone, phone.replace(/^\+/, ''), maskPhone(phone));
  if (identity.email) terms.push(identity.email, maskEmail(identity.email));
  return terms.filter((t): t is string => !!t && t !== ERASED);
}

/** The terms of one message: the recipient's, and the address it was sent to (the recipient may have had another since). */
export function messageTerms(recipientTerms: readonly string[], channel: Channel, destination: string): string[] {
  if (destination === ERASED) return [...recipientTerms];
  const own = [destination, maskDestination(channel, destination)];
  if (channel === 'SMS' || channel === 'WHATSAPP') own.push(destination.replace(/^\+/, ''));
  return [...recipientTerms, ...own];
}

/**
 * Replaces every whole-word occurrence of the terms (any case) with ERASED. Longer terms
 * are tried first, so an e-mail address goes whole rather than leaving its domain behind
 * a replaced name.
 */
export function scrubber(terms: readonly string[]): (text: string) => string {
  const words = [...new Set(terms.filter((t) => t.length >= MIN_TERM_LENGTH))].sort((a, b) => b.length - a.length);
  if (words.length === 0) return (text) => text;
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${words.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  return (text) => text.replace(pattern, ERASED);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The columns of a message erasure touches. */
export interface MessageText {
  body: string;
  subject: string | null;
  htmlBody: string | null;
  destination: string;
  errorMessage: string | null;
  fallback: FallbackStepData[] | null;
  requestHash: string | null;
}

/**
 * The message with its personal data gone: body, subject and destination ERASED (a subject
 * only where there was one), the HTML body null (ERASED is no HTML, and the API never shows
 * it), the fallback texts still to send dropped, the error scrubbed of the person, and the
 * request hash dropped (a hash of the text confirms a guess of it). Undefined when the
 * message is already so.
 */
export function erasedMessage(message: MessageText, scrub: (text: string) => string): MessageText | undefined {
  const erased: MessageText = {
    body: ERASED,
    subject: message.subject === null ? null : ERASED,
    htmlBody: null,
    destination: ERASED,
    errorMessage: message.errorMessage === null ? null : scrub(message.errorMessage),
    fallback: null,
    requestHash: null,
  };
  const same =
    message.body === erased.body &&
    message.subject === erased.subject &&
    message.htmlBody === null &&
    message.destination === erased.destination &&
    message.errorMessage === erased.errorMessage &&
    message.fallback === null &&
    message.requestHash === null;
  return same ? undefined : erased;
}

/** A webhook event of an erased message: its snapshot (not rendered yet) and its rendered payload. */
export interface EventText {
  snapshot: unknown;
  payload: string | null;
}

/**
 * The event with the message's destination ERASED and its error scrubbed, in the snapshot
 * and in the payload alike, so that a redelivery sends the erased values, in the same
 * shape. Undefined when there was nothing to change.
 */
export function erasedEvent(event: EventText, scrub: (text: string) => string): EventText | undefined {
  const snapshot = isRecord(event.snapshot) ? erasedData(event.snapshot, scrub) : event.snapshot;
  let payload = event.payload;
  if (payload !== null) {
    const body = JSON.parse(payload) as { data?: unknown };
    if (isRecord(body.data)) payload = JSON.stringify({ ...body, data: erasedData(body.data, scrub) });
  }
  if (payload === event.payload && JSON.stringify(snapshot) === JSON.stringify(event.snapshot)) return undefined;
  return { snapshot, payload };
}

function erasedData(data: Record<string, unknown>, scrub: (text: string) => string): Record<string, unknown> {
  return {
    ...data,
    destination: ERASED,
    ...(typeof data.errorMessage === 'string' ? { errorMessage: scrub(data.errorMessage) } : {}),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
