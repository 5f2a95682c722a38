import { describe, expect, it } from 'vitest';
import { naturalBatches } from './batching.js';

/** A run whose batches stay out until released, recording what each batch held. */
function gatedRun(fail?: (item: number) => boolean) {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((release) => gates.push(release));
    if (fail && items.some(fail)) throw new Error(`bad item among ${items.join(',')}`);
    return items.map((i) => i * 10);
  };
  const releaseAll = async () => {
    // Let the calls reach the run, then open every gate, again for batches that follow.
    for (let round = 0; round < 10; round++) {
      await new Promise((r) => setImmediate(r));
      gates.splice(0).forEach((release) => release());
    }
  };
  return { run, batches, releaseAll };
}

describe('naturalBatches', () => {
  it('sends a call at once while a slot is free, and the calls that arrive meanwhile together as the next batch', async () => {
    const { run, batches, releaseAll } = gatedRun();
    const call = naturalBatches(run, { maxInFlight: 1, maxWeight: 100 });
    const results = Promise.all([1, 2, 3, 4].map(call));
    await releaseAll();
    expect(await results).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('closes a batch at maxWeight and keeps at most maxInFlight batches out', async () => {
    const { run, batches, releaseAll } = gatedRun();
    const call = naturalBatches(run, { maxInFlight: 2, maxWeight: 5, weight: (n) => n });
    const results = Promise.all([1, 1, 2, 2, 2, 4, 9].map(call));
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1], [1]]); // two out, the rest waiting
    await releaseAll();
    expect(await results).toEqual([10, 10, 20, 20, 20, 40, 90]);
    // Next batches up to weight 5; 9 alone is heavier than a batch and still runs alone.
    expect(batches.slice(2)).toEqual([[2, 2], [2], [4], [9]]);
  });

  it('runs a failed batch again item by item, so only the bad item fails its caller', async () => {
    const { run, batches, releaseAll } = gatedRun((n) => n === 3);
    const call = naturalBatches(run, { maxInFlight: 1, maxWeight: 100 });
    const results = Promise.allSettled([1, 2, 3, 4].map(call));
    await releaseAll();
    const settled = await results;
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : String(s.reason)))).toEqual([10, 20, 'Error: bad item among 3', 40]);
    expect(batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('keeps working after a failure (the slot is given back)', async () => {
    let calls = 0;
    const call = naturalBatches(
      async (items: number[]) => {
        calls++;
        if (items.includes(0)) throw new Error('zero');
        return items;
      },
      { maxInFlight: 1, maxWeight: 10 },
    );
    await expect(call(0)).rejects.toThrow('zero');
    await expect(call(7)).resolves.toBe(7);
    expect(calls).toBe(2);
  });
});
