// Gateway credentials at rest: AES-256-GCM under HERALD_SECRET_KEY. Each value names
// the key it was sealed with (a fingerprint), so a rotated or wrong key is reported
// plainly instead of as a decryption failure, and old keys stay readable. A value is bound
// to its owner (the gateway's id) as GCM associated data: copied onto another row, it no
// longer opens.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  private readonly current: string;

  /** `key` seals new values; `previous` keys only open old ones (rotation). */
  constructor(key: Buffer, previous: Buffer[] = []) {
    this.current = fingerprint(key);
    for (const k of [key, ...previous]) this.keys.set(fingerprint(k), k);
  }

  /** Seals `plaintext` for `owner` (v2): only `open(sealed, owner)` with the same owner opens it. */
  seal(plaintext: string, owner: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.current)!, iv);
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v2', this.current, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  /**
   * Opens a value sealed for `owner`. Values sealed before owners were bound (v1) open
   * without one; `needsReseal` tells the caller to seal them again.
   */
  open(sealed: string, owner: string): string {
    const [version, keyId, iv, tag, body] = sealed.split(':');
    if ((version !== 'v1' && version !== 'v2') || body === undefined) throw new Error('credentials are not in a format this Herald reads');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`credentials were sealed with another HERALD_SECRET_KEY (fingerprint ${keyId})`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    if (version === 'v2') decipher.setAAD(Buffer.from(owner, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('credentials do not open: they were altered, or sealed for another gateway (copied from another row)');
    }
  }

  /** True when the value is not sealed under the current key, or not bound to its owner. */
  needsReseal(sealed: string): boolean {
    const [version, keyId] = sealed.split(':');
    return version !== 'v2' || keyId !== this.current;
  }

  /**
   * Seals one stored value again under the current key, bound to `owner`, and counts what
   * happened. `replace` writes the new value if the stored one is still `sealed` (a
   * compare-and-swap: a value replaced meanwhile is sealed right already) and says whether
   * it did. A value that does not open is counted and left as it is; the answer is why.
   */
  async reseal(
    sealed: string,
    owner: string,
    replace: (next: string) => Promise<boolean>,
    counts: ResealCounts,
  ): Promise<string | undefined> {
    if (!this.needsReseal(sealed)) {
      counts.current += 1;
      return undefined;
    }
    let plain: string;
    try {
      plain = this.open(sealed, owner);
    } catch (err) {
      counts.unreadable += 1;
      return (err as Error).message;
    }
    if (await replace(this.seal(plain, owner))) counts.resealed += 1;
    else counts.current += 1;
    return undefined;
  }
}

/** What a re-sealing pass did: values sealed again, already current, and left because they do not open. */
export interface ResealCounts {
  resealed: number;
  current: number;
  unreadable: number;
}

function fingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * The key from HERALD_SECRET_KEY, or one generated once and kept in the data directory.
 * `generated` tells the caller to warn: a key beside the data protects less, and every
 * process sharing the database needs the same key.
 */
export function loadOrCreateSecretKey(configured: Buffer | undefined, dataDir: string): { key: Buffer; generated?: string } {
  if (configured) return { key: configured };
  const file = path.join(dataDir, 'secret.key');
  try {
    return { key: Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex'), generated: file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    fs.writeFileSync(file, key.toString('hex'), { mode: 0o600, flag: 'wx' });
    return { key, generated: file };
  } catch (err) {
    // Another process won the race: use its key.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { key: Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex'), generated: file };
    throw err;
  }
}
