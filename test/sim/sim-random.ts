import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** The one source of randomness of a simulated run: everything drawn from one seed. */
export class SimRandom {
  readonly #rng: RandomGenerator;

  /**
   * @param stream another stream of the same seed (0: the world's own)
   */
  constructor(seed: number, stream = 0) {
    // xoroshiro128+ seeded with nearby integers starts with correlated
    // draws (seeds 1…2,500 all drew the same first chance): mix them first.
    this.#rng = xoroshiro128plus(mix(mix(seed) ^ stream));
  }

  /** A float in [0, 1). */
  float(): number {
    return uniformFloat64(this.#rng);
  }

  /** An integer in [from, to]. */
  int(from: number, to: number): number {
    return uniformInt(this.#rng, from, to);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) {
      throw new Error('pick from an empty list');
    }
    return item;
  }
}

/** MurmurHash3's 32-bit finalizer: nearby integers to unrelated ones. */
function mix(n: number): number {
  let h = n | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
