import { readFile } from 'node:fs/promises';
import { MAX_SHARD } from './store/shard-id.ts';

/** One shard of the log as the shards file names it. */
export interface ShardSpec {
  /** Its number, carried by the ids of its transactions (0–4095; 0 is the unsharded log). */
  readonly id: number;
  /** Its PostgreSQL (a Patroni cluster's entry point in production). */
  readonly url: string;
  /** Its share of new transactions; 0 drains it. */
  readonly weight: number;
  /** The schema holding its tables. */
  readonly schema: string;
}

/** A shards file that cannot be used, told in one line. */
export class ShardsFileError extends Error {}

const KEYS = new Set(['id', 'url', 'weight', 'schema']);
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a shards file's content:
 * `{"shards": [{"id": 0, "url": "postgres://…", "weight": 1}, …]}`.
 * @throws ShardsFileError naming what to fix
 */
export function parseShards(text: string, defaultSchema: string): ShardSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ShardsFileError(`not JSON (${(err as Error).message})`);
  }
  const list = (doc as { shards?: unknown } | null)?.shards;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(list) || list.length === 0) {
    throw new ShardsFileError(
      'expected {"shards": [{"id": 0, "url": "postgres://…", "weight": 1}, …]}',
    );
  }
  const specs = list.map((entry: unknown, i): ShardSpec => {
    const at = `shards[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ShardsFileError(`${at}: expected an object with id, url and weight`);
    }
    const e = entry as Record<string, unknown>;
    const unknown = Object.keys(e).filter((k) => !KEYS.has(k));
    if (unknown.length > 0) {
      throw new ShardsFileError(
        `${at}: unknown key ${unknown.join(', ')} (known: ${[...KEYS].join(', ')})`,
      );
    }
    const { id, url, weight, schema = defaultSchema } = e;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_SHARD) {
      throw new ShardsFileError(`${at}.id: expected a whole number from 0 to ${MAX_SHARD}`);
    }
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) {
      throw new ShardsFileError(`${at}.url: expected a postgres:// URL`);
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new ShardsFileError(`${at}.weight: expected a number >= 0 (0 drains the shard)`);
    }
    if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
      throw new ShardsFileError(
        `${at}.schema: expected a schema name (lowercase letters, digits, _)`,
      );
    }
    return { id, url, weight, schema };
  });
  const seen = new Map<string, number>();
  for (const s of specs) {
    if (specs.filter((o) => o.id === s.id).length > 1) {
      throw new ShardsFileError(`shard ${s.id} is named twice`);
    }
    // One log under two numbers would hand out ids that route to the wrong
    // incarnation, lease and recovery: refused.
    const where = `${logLocation(s.url)}#${s.schema}`;
    const other = seen.get(where);
    if (other !== undefined) {
      throw new ShardsFileError(`shards ${other} and ${s.id} name the same database and schema`);
    }
    seen.set(where, s.id);
  }
  if (!specs.some((s) => s.weight > 0)) {
    throw new ShardsFileError('no shard has weight: new transactions would have nowhere to go');
  }
  return specs;
}

/** host:port/database of a URL, credentials and options left out. */
function logLocation(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

/** Reads and checks a shards file. @throws ShardsFileError naming the file and what to fix */
export async function readShards(path: string, defaultSchema: string): Promise<ShardSpec[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ShardsFileError(`${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parseShards(text, defaultSchema);
  } catch (err) {
    throw new ShardsFileError(`${path}: ${(err as Error).message}`);
  }
}
