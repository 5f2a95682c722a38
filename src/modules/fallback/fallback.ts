// Cross-channel fallback: what a send may ask for, and the texts it would fall back with.
// The texts are rendered when the send is accepted, like the send's own, so editing a
// template later changes nothing already accepted and a send that cannot be rendered on
// a fallback channel is refused then, not found out when the first channel has failed.
import type { FallbackStepData } from '../../db/schema/index.js';
import type { Channel } from '../../domain/enums.js';
import { MAX_BODY_LENGTH } from '../../domain/limits.js';
import { type Problems, refuse, UserErrorCode } from '../../domain/refusal.js';

/** The longest wait for a delivery receipt before falling back: Twilio reports within 72 h. */
export const MAX_FALLBACK_AFTER_SECONDS = 3 * 24 * 3600;

/**
 * Channels whose provider reports delivery (Twilio status callbacks, SendGrid events): a
 * message on them that is SENT but not DELIVERED within fallbackAfterSeconds falls back.
 * X reports nothing after the send, so a DM falls back only when it FAILS.
 */
export const REPORTS_DELIVERY: Record<Channel, boolean> = { SMS: true, WHATSAPP: true, EMAIL: true, TWITTER_DM: false };

/** A subject made from the text, for a fallback to EMAIL of a message that had none: its first line, shortened. */
const DERIVED_SUBJECT_MAX = 78;

export interface FallbackAsk {
  fallback?: readonly Channel[] | null;
  fallbackAfterSeconds?: number | null;
}

/** The rules that need no database: channels other than the send's, each once; a window only with a fallback. */
export function checkFallback(channel: Channel, ask: FallbackAsk, problems: Problems): void {
  const channels = ask.fallback ?? [];
  if (new Set(channels).size !== channels.length) problems.add(['input', 'fallback'], 'name each fallback channel once');
  if (channels.includes(channel)) problems.add(['input', 'fallback'], `the message is on ${channel} already; fall back to other channels`);
  const after = ask.fallbackAfterSeconds;
  if (after === undefined || after === null) return;
  if (channels.length === 0) problems.add(['input', 'fallbackAfterSeconds'], 'fallbackAfterSeconds needs a fallback');
  else if (!REPORTS_DELIVERY[channel]) {
    problems.add(['input', 'fallbackAfterSeconds'], `${channel} does not report delivery; its fallback follows a FAILED message only`);
  }
  if (!Number.isInteger(after) || after < 1 || after > MAX_FALLBACK_AFTER_SECONDS) {
    problems.add(
      ['input', 'fallbackAfterSeconds'],
      `fallbackAfterSeconds must be 1 to ${MAX_FALLBACK_AFTER_SECONDS.toLocaleString('en-US')}`,
    );
  }
}

/** What the send said, to say again on `channel` (free text: the same words; an EMAIL's subject is made when there was none). */
export function sameText(
  channel: Channel,
  sent: { subject: string | null; body: string; htmlBody: string | null; locale: string | null },
  index: number,
): FallbackStepData {
  if (sent.body.length > MAX_BODY_LENGTH[channel]) {
    throw refuse(
      UserErrorCode.TOO_LONG,
      `the text is ${sent.body.length} characters; a ${channel} fallback takes at most ${MAX_BODY_LENGTH[channel]}`,
      ['input', 'fallback', String(index)],
    );
  }
  const email = channel === 'EMAIL';
  return {
    channel,
    subject: email ? (sent.subject ?? derivedSubject(sent.body)) : null,
    body: sent.body,
    htmlBody: email ? sent.htmlBody : null,
    templateId: null,
    templateVersion: null,
    locale: sent.locale,
  };
}

function derivedSubject(body: string): string {
  const line = body.trim().split(/\r?\n/, 1)[0].replace(/\s+/g, ' ');
  return line.length <= DERIVED_SUBJECT_MAX ? line : `${line.slice(0, DERIVED_SUBJECT_MAX - 1).trimEnd()}…`;
}
