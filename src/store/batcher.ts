/**
 * Group commit inside the coordinator: items submitted while a flush is in
 * flight wait and go out together in the next one. At low load every item
 * is flushed at once (no added latency); under load, concurrent
 * transactions share one statement and one fsync.
 */
export class Batcher<I, O> {
  readonly #flush: (items: I[]) => Promise<O[]>;
  readonly #max: number;
  #queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #busy = false;

  /** @param flush writes a batch; returns one result per item, in order */
  constructor(flush: (items: I[]) => Promise<O[]>, max = 256) {
    this.#flush = flush;
    this.#max = max;
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
        batch.forEach((b) => b.reject(err));
      }
    }
    this.#busy = false;
  }
}
