// SMS and WhatsApp texts carry their encoding and segment count from the moment they are
// accepted: stored on the message, and summed per tenant in metrics (segments, and billable
// units: segments × the gateway's price multiplier).
import type { Channel, SmsEncoding } from '../../domain/enums.js';
import { countSms } from '../../lib/sms-segments.js';
import type { Metrics } from '../../metrics.js';

export interface SegmentFigures {
  encoding: SmsEncoding | null;
  segments: number | null;
}

/** The figures a message of `channel` stores: counted for SMS and WhatsApp, null otherwise. */
export function segmentFigures(channel: Channel, body: string): SegmentFigures {
  if (channel !== 'SMS' && channel !== 'WHATSAPP') return { encoding: null, segments: null };
  const { encoding, segments } = countSms(body);
  return { encoding, segments };
}

/** Adds accepted messages' segments and billable units to the tenant's metrics. */
export function countSegments<M extends { tenantId: string; channel: Channel; encoding?: SmsEncoding | null; segments?: number | null }>(
  metrics: Metrics,
  messages: readonly M[],
  priceMultiplier: (message: M) => number,
): void {
  for (const m of messages) {
    if (!m.segments || !m.encoding) continue;
    metrics.smsSegments.inc({ tenant: m.tenantId, channel: m.channel, encoding: m.encoding }, m.segments);
    metrics.smsBillableUnits.inc({ tenant: m.tenantId, channel: m.channel }, m.segments * priceMultiplier(m));
  }
}
