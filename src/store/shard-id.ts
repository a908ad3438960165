import { createHash, randomBytes } from 'node:crypto';
import type { TxId } from '../core/tx-record.ts';

/** The highest shard number an id can carry (12 bits). */
export const MAX_SHARD = 0xfff;

/**
 * The shard a transaction id names. Shard 0 hands out version-4 UUIDs (the
 * ids of a log that was never sharded); every other shard a version-8 UUID
 * whose 12 bits after the version nibble are the shard's number
 * (`xxxxxxxx-xxxx-8SSS-…`). Any id that is not version 8 is shard 0's.
 */
export function shardOf(txnId: string): number {
  return txnId.charAt(14) === '8' ? parseInt(txnId.slice(15, 18), 16) : 0;
}

/** A shard that takes new transactions, and how large its share is. */
export interface ShardWeight {
  readonly id: number;
  readonly weight: number;
}

/**
 * Weighted rendezvous hashing (highest random weight): each shard scores
 * `-weight / ln(h)`, with `h` the key's hash for that shard in (0, 1), and
 * the highest score wins. A shard's share is its weight over the sum;
 * adding a shard, or changing one weight, moves only the keys that go to or
 * leave that shard. Shards of weight 0 are never chosen.
 */
export function pickShard(key: Uint8Array, shards: readonly ShardWeight[]): number | null {
  let best: number | null = null;
  let bestScore = -Infinity;
  for (const { id, weight } of shards) {
    if (weight <= 0) {
      continue;
    }
    const digest = createHash('sha256').update(key).update(String(id)).digest();
    // 52 bits of the digest, mapped into (0, 1): never 0, never 1.
    const h = (digest.readUIntBE(0, 6) * 16 + (digest[6]! >> 4) + 0.5) / 2 ** 52;
    const score = -weight / Math.log(h);
    if (score > bestScore) {
      bestScore = score;
      best = id;
    }
  }
  return best;
}

/** Formats 16 bytes as a lowercase UUID. */
function formatUuid(b: Uint8Array): string {
  const hex = Buffer.from(b).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A new transaction id on a shard chosen by weight among `shards`: random
 * bytes are the rendezvous key, and then become the id with its version
 * bits (and, past shard 0, the shard's number) written in.
 * @returns null when no shard has weight
 */
export function newShardedTxnId(
  shards: readonly ShardWeight[],
  random: Uint8Array = randomBytes(16),
): { txnId: TxId; shard: number } | null {
  const shard = pickShard(random, shards);
  if (shard === null) {
    return null;
  }
  const b = Uint8Array.from(random);
  if (shard === 0) {
    b[6] = (b[6]! & 0x0f) | 0x40;
  } else {
    b[6] = 0x80 | (shard >> 8);
    b[7] = shard & 0xff;
  }
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 9562 variant
  return { txnId: formatUuid(b) as TxId, shard };
}
