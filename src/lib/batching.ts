// Natural batching: while `maxInFlight` runs are out, new calls wait, and the moment a run
// comes back every call that waited leaves together as one run. An idle service adds no
// delay (a call with a free slot leaves at once); a busy one pays one statement per
// batch instead of one per call, which is where a database spends its time under load.

export interface BatchingOptions<T> {
  /** Runs out at once; more calls wait for one to come back. */
  maxInFlight: number;
  /** A batch closes at this total weight (a single heavier call still runs alone). */
  maxWeight: number;
  /** An item's weight, 1 unless given. */
  weight?: (item: T) => number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * `run` gets the items of one batch and answers one result per item, in order. It must be
 * all-or-nothing (one statement, say): a batch that fails is run again item by item, so
 * a bad item fails its own caller only.
 */
export function naturalBatches<T, R>(run: (items: T[]) => Promise<R[]>, options: BatchingOptions<T>): (item: T) => Promise<R> {
  const weight = options.weight ?? (() => 1);
  const waiting: Waiting<T, R>[] = [];
  let inFlight = 0;

  const settle = async (batch: Waiting<T, R>[]): Promise<void> => {
    try {
      const results = await run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1) return batch[0].reject(err);
      await Promise.all(batch.map((w) => run([w.item]).then(([result]) => w.resolve(result), w.reject)));
    }
  };

  const launch = (): void => {
    while (inFlight < options.maxInFlight && waiting.length > 0) {
      let total = weight(waiting[0].item);
      let n = 1;
      while (n < waiting.length && total + weight(waiting[n].item) <= options.maxWeight) total += weight(waiting[n++].item);
      inFlight++;
      void settle(waiting.splice(0, n)).finally(() => {
        inFlight--;
        launch();
      });
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      launch();
    });
}
