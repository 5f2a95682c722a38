import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox, loadOrCreateSecretKey } from './secret-box.js';

describe('SecretBox', () => {
  const secret = '{"authToken":"super-secret-token"}';

  it('seals so the stored text reveals nothing, and opens it again', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal(secret, 'gw-1');
    expect(sealed).not.toContain('super-secret');
    expect(box.seal(secret, 'gw-1')).not.toBe(sealed); // fresh IV every time
    expect(box.open(sealed, 'gw-1')).toBe(secret);
  });

  it('refuses a tampered value instead of returning garbage', () => {
    const box = new SecretBox(randomBytes(32));
    const parts = box.seal(secret, 'gw-1').split(':');
    const body = Buffer.from(parts[4], 'base64');
    body[0] ^= 1;
    parts[4] = body.toString('base64');
    expect(() => box.open(parts.join(':'), 'gw-1')).toThrow(/do not open/);
  });

  it('names a wrong key plainly, and reads old values after rotation', () => {
    const oldKey = randomBytes(32);
    const sealed = new SecretBox(oldKey).seal(secret, 'gw-1');
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'gw-1')).toThrow(/another HERALD_SECRET_KEY/);
    const rotated = new SecretBox(randomBytes(32), [oldKey]);
    expect(rotated.open(sealed, 'gw-1')).toBe(secret);
    expect(rotated.needsReseal(sealed)).toBe(true);
    const resealed = rotated.seal(secret, 'gw-1');
    expect(resealed.split(':')[1]).not.toBe(sealed.split(':')[1]);
    expect(rotated.needsReseal(resealed)).toBe(false);
  });

  it('binds a value to its owner: sealed for one gateway, it does not open for another', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal(secret, 'gw-1');
    expect(() => box.open(sealed, 'gw-2')).toThrow(/sealed for another gateway/);
    expect(box.open(sealed, 'gw-1')).toBe(secret);
  });

  it('opens a value sealed before owners were bound (v1, no associated data) and asks for it to be sealed again', () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const keyId = createHash('sha256').update(key).digest('hex').slice(0, 12);
    const v1 = ['v1', keyId, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    const box = new SecretBox(key);
    expect(box.open(v1, 'any-gateway')).toBe(secret);
    expect(box.needsReseal(v1)).toBe(true);
  });
});

describe('loadOrCreateSecretKey', () => {
  it('generates a key once and keeps it in the data directory, readable only by its owner', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-key-'));
    const first = loadOrCreateSecretKey(undefined, dir);
    const second = loadOrCreateSecretKey(undefined, dir);
    expect(first.generated).toBe(path.join(dir, 'secret.key'));
    expect(second.key.equals(first.key)).toBe(true);
    expect(fs.statSync(path.join(dir, 'secret.key')).mode & 0o077).toBe(0);
    fs.rmSync(dir, { recursive: true });
  });

  it('uses the configured key and writes nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-key-'));
    const key = randomBytes(32);
    expect(loadOrCreateSecretKey(key, dir)).toEqual({ key });
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true });
  });
});
