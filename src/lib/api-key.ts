import { createHash, randomBytes } from 'node:crypto';

/** A new API key: 32 random bytes, shown once; only its hash is stored. */
export function generateApiKey(): string {
  return `hrld_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
