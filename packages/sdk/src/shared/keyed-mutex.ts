/** Serializes async work per key (within this process). */
export class KeyedMutex<K> {
  readonly #tails = new Map<K, Promise<void>>();

  /** Runs `fn` once every earlier `fn` for the same key has settled. */
  async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release = (): void => undefined;
    const tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => tail);
    this.#tails.set(key, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === chained) {
        this.#tails.delete(key);
      }
    }
  }
}
