import { createHash, randomBytes } from 'node:crypto';

/** A new API key: 32 random bytes, shown once; only its hash is stored. */
export function generateApiKey(): string {
  return `hrld_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The key in an Authorization value ("Bearer <key>"), or undefined when it is not one.
 * `schemeOptional` also takes a bare key (graphql-ws connectionParams).
 */
export function bearerKey(value: unknown, schemeOptional = false): string | undefined {
  if (typeof value !== 'string') return undefined;
  return (schemeOptional ? /^(?:Bearer\s+)?(\S+)\s*$/i : /^Bearer\s+(\S+)\s*$/i).exec(value)?.[1];
}
