// Keys derived from HERALD_SECRET_KEY for what Herald must recognise without keeping:
// the hash a suppression is found by (so an erased entry, which keeps only its hash, still
// stops the person), and the one-click unsubscribe token, which names the address by that
// hash. Derived with HMAC under a label each, so neither can stand in for the other nor for
// the credential-sealing key itself.
import { createHmac, timingSafeEqual } from 'node:crypto';

const HASH_LABEL = 'herald:suppression-destination:v1';
const TOKEN_LABEL = 'herald:unsubscribe-token:v1';
const TOKEN_VERSION = 'u1';
const UUID_HEX = /^[0-9a-f]{32}$/;
const HASH_HEX = /^[0-9a-f]{64}$/;

/** What a one-click unsubscribe token names: the tenant, the e-mail it was sent with, and the address's hash. */
export interface UnsubscribeClaim {
  tenantId: string;
  messageId: string;
  destinationHash: string;
}

export class DestinationKeys {
  private readonly hashKeys: Buffer[];
  private readonly tokenKeys: Buffer[];

  /** `key` makes new hashes and tokens; `previous` keys (rotation) only recognise old ones. */
  constructor(key: Buffer, previous: Buffer[] = []) {
    this.hashKeys = [key, ...previous].map((k) => derive(k, HASH_LABEL));
    this.tokenKeys = [key, ...previous].map((k) => derive(k, TOKEN_LABEL));
  }

  /** The hash a normalized destination is stored under. */
  hash(destination: string): string {
    return hmacHex(this.hashKeys[0], destination);
  }

  /** Its hash under every key (current first): an entry stored before a key rotation is still found. */
  hashes(destination: string): string[] {
    return this.hashKeys.map((key) => hmacHex(key, destination));
  }

  /** `u1.<tenant>.<message>.<hash>.<mac>`: URL-safe, and every part covered by the MAC. */
  unsubscribeToken(claim: UnsubscribeClaim): string {
    const body = [TOKEN_VERSION, hex(claim.tenantId), hex(claim.messageId), claim.destinationHash].join('.');
    return `${body}.${mac(this.tokenKeys[0], body)}`;
  }

  /** The claim of a token this Herald made (under any of its keys), or undefined. */
  readUnsubscribeToken(token: string): UnsubscribeClaim | undefined {
    const parts = token.split('.');
    if (parts.length !== 5) return undefined;
    const [version, tenant, message, hash, given] = parts;
    if (version !== TOKEN_VERSION || !UUID_HEX.test(tenant) || !UUID_HEX.test(message) || !HASH_HEX.test(hash)) return undefined;
    const body = parts.slice(0, 4).join('.');
    const givenBytes = Buffer.from(given, 'base64url');
    const holds = this.tokenKeys.some((key) => {
      const expected = Buffer.from(mac(key, body), 'base64url');
      return expected.length === givenBytes.length && timingSafeEqual(expected, givenBytes);
    });
    return holds ? { tenantId: uuid(tenant), messageId: uuid(message), destinationHash: hash } : undefined;
  }
}

function derive(key: Buffer, label: string): Buffer {
  return createHmac('sha256', key).update(label).digest();
}

function hmacHex(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('base64url');
}

const hex = (id: string) => id.replace(/-/g, '');
const uuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
