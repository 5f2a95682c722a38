// Ids: UUIDv7 in the database (time-ordered, so newest-first keyset pagination is an
// index scan on the id alone), and prefixed opaque ids in the API (`rcp_…`), so a
// Node id names its type and a wrong-typed id is simply not found.
import { v7 } from 'uuid';

/**
 * A UUIDv7. Ids made by this process keep their order even within one millisecond (uuid's
 * v7 counts within it); one made for a given `now` (ms since the epoch) has that time only.
 */
export function uuidv7(now?: number): string {
  return now === undefined ? v7() : v7({ msecs: now });
}

export const ID_PREFIX = {
  Tenant: 'tnt',
  Recipient: 'rcp',
  Gateway: 'gw',
  Message: 'msg',
  DeliveryLog: 'log',
  ApiKey: 'key',
  Template: 'tpl',
  WebhookEndpoint: 'whe',
  WebhookEvent: 'wev',
  WebhookDelivery: 'whd',
  Suppression: 'sup',
} as const;
export type NodeType = keyof typeof ID_PREFIX;

export function toGlobalId(type: NodeType, uuid: string): string {
  return `${ID_PREFIX[type]}_${uuid.replace(/-/g, '')}`;
}

/** The database uuid behind an API id, or null when the id is malformed or of another type. */
export function fromGlobalId(id: string, expected?: NodeType): { type: NodeType; uuid: string } | null {
  const match = /^([a-z]+)_([0-9a-f]{32})$/.exec(id);
  if (!match) return null;
  const type = (Object.keys(ID_PREFIX) as NodeType[]).find((t) => ID_PREFIX[t] === match[1]);
  if (!type || (expected && type !== expected)) return null;
  const h = match[2];
  return { type, uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` };
}

/** The millisecond a UUIDv7 was made: messages store it as created_at. */
export function timeOfUuidv7(uuid: string): Date {
  // The first 48 bits: "xxxxxxxx-xxxx-…"
  return new Date(parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16));
}

/** The smallest UUIDv7 of a millisecond: turns a time filter into a primary-key range. */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}
