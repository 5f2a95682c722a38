// Ids: UUIDv7 in the database (time-ordered, so newest-first keyset pagination is an
// index scan on the id alone), and prefixed opaque ids in the API (`rcp_…`), so a
// Node id names its type and a wrong-typed id is simply not found.
import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

// Random bytes drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG per
// ~400 ids instead of two per id (bulk inserts make ids by the ten thousand).
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** Where `length` fresh random bytes start in the pool. */
function randomAt(length: number): number {
  if (poolAt + length > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += length;
  return poolAt - length;
}

/** UUIDv7 with a per-process monotonic counter, so ids made in the same millisecond keep their order. */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMs += 1; // counter wrapped: borrow the next millisecond
    now = lastMs;
  } else {
    lastMs = now;
    sequence = pool.readUInt16BE(randomAt(2)) & 0x7ff;
  }
  const bytes = Buffer.alloc(16);
  const at = randomAt(8);
  pool.copy(bytes, 8, at, at + 8);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const ID_PREFIX = {
  Tenant: 'tnt',
  Recipient: 'rcp',
  Gateway: 'gw',
  Message: 'msg',
  DeliveryLog: 'log',
  ApiKey: 'key',
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
