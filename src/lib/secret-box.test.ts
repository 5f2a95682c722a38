import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox, loadOrCreateSecretKey } from './secret-box.js';

describe('SecretBox', () => {
  const secret = '{"authToken":"super-secret-token"}';

  it('seals so the stored text reveals nothing, and opens it again', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal(secret);
    expect(sealed).not.toContain('super-secret');
    expect(box.seal(secret)).not.toBe(sealed); // fresh IV every time
    expect(box.open(sealed)).toBe(secret);
  });

  it('refuses a tampered value instead of returning garbage', () => {
    const box = new SecretBox(randomBytes(32));
    const parts = box.seal(secret).split(':');
    const body = Buffer.from(parts[4], 'base64');
    body[0] ^= 1;
    parts[4] = body.toString('base64');
    expect(() => box.open(parts.join(':'))).toThrow();
  });

  it('names a wrong key plainly, and reads old values after rotation', () => {
    const oldKey = randomBytes(32);
    const sealed = new SecretBox(oldKey).seal(secret);
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/another HERALD_SECRET_KEY/);
    const rotated = new SecretBox(randomBytes(32), [oldKey]);
    expect(rotated.open(sealed)).toBe(secret);
    expect(rotated.seal(secret).split(':')[1]).not.toBe(sealed.split(':')[1]);
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
