import { describe, expect, it } from 'vitest';
import { fromGlobalId, toGlobalId, uuidv7 } from './ids.js';

describe('uuidv7', () => {
  it('sorts in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The random tail differs from id to id (not only the per-millisecond counter).
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('global ids', () => {
  it('round-trip and name their type', () => {
    const uuid = uuidv7();
    const id = toGlobalId('Recipient', uuid);
    expect(id).toMatch(/^rcp_[0-9a-f]{32}$/);
    expect(fromGlobalId(id)).toEqual({ type: 'Recipient', uuid });
    expect(fromGlobalId(id, 'Recipient')).toEqual({ type: 'Recipient', uuid });
  });

  it('are null when malformed or of another type', () => {
    const id = toGlobalId('Gateway', uuidv7());
    expect(fromGlobalId(id, 'Recipient')).toBeNull();
    for (const bad of ['', 'rcp_', 'rcp_xyz', 'zzz_0123456789abcdef0123456789abcdef', "rcp_0123456789abcdef0123456789abcdef' or 1=1"]) {
      expect(fromGlobalId(bad)).toBeNull();
    }
  });
});
