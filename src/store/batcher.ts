/**
 * Group commit inside the coordinator: items submitted while a flush is in
 * flight wait and go out together in the next one. At low load every item
 * is flushed at once (no added latency); under load, concurrent
 * transactions share one statement and one fsync.
 */
export class Batcher<I, O> {
  readonly #flush: (items: I[]) => Promise<O[]>;
  readonly #max: number;
  readonly #isolate: (err: unknown) => boolean;
  #queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #busy = false;

  /**
   * @param flush writes a batch; returns one result per item, in order
   * @param isolate whether a batch's failure may be one item's fault (its
   *   data refused): then each item is written alone, so the others succeed
   *   and only the guilty one fails
   */
  constructor(
    flush: (items: I[]) => Promise<O[]>,
    max = 256,
    isolate: (err: unknown) => boolean = () => false,
  ) {
    this.#flush = flush;
    this.#max = max;
    this.#isolate = isolate;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#busy) {
        void this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#max);
      try {
        const results = await this.#flush(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i] as O));
      } catch (err) {
        if (batch.length > 1 && this.#isolate(err)) {
          await this.#oneByOne(batch);
        } else {
          batch.forEach((b) => b.reject(err));
        }
      }
    }
    this.#busy = false;
  }

  async #oneByOne(
    batch: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[],
  ): Promise<void> {
    for (const b of batch) {
      try {
        const [result] = await this.#flush([b.item]);
        b.resolve(result as O);
      } catch (err) {
        b.reject(err);
      }
    }
  }
}
