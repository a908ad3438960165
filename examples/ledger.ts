import type pg from 'pg';
import type { ParticipantHandlers, VoteResult } from 'twopc';

/**
 * A tiny resource manager: named quantities (account balances, stock) in
 * the service's own PostgreSQL schema. Work inside a transaction is a
 * pending take; Prepare turns it into a durable hold (so the service can
 * commit even after its own crash), Commit applies it, Abort releases it.
 */
export class Ledger implements ParticipantHandlers {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #unit: string;

  constructor(pool: pg.Pool, schema: string, unit: string) {
    this.#pool = pool;
    this.#schema = schema;
    this.#unit = unit;
  }

  /** Creates the tables and sets the starting quantities. */
  async setUp(initial: Record<string, number>): Promise<void> {
    const s = this.#schema;
    await this.#pool.query(`CREATE SCHEMA IF NOT EXISTS ${s};
      CREATE TABLE IF NOT EXISTS ${s}.items (key text PRIMARY KEY, quantity bigint NOT NULL CHECK (quantity >= 0), held bigint NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS ${s}.takes (txn_id uuid NOT NULL, key text NOT NULL REFERENCES ${s}.items, amount bigint NOT NULL CHECK (amount > 0), prepared boolean NOT NULL DEFAULT false)`);
    for (const [key, quantity] of Object.entries(initial)) {
      await this.#pool.query(
        `INSERT INTO ${s}.items (key, quantity) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET quantity = $2, held = 0`,
        [key, quantity],
      );
    }
    await this.#pool.query(`DELETE FROM ${s}.takes`);
  }

  /** Records a tentative take inside a transaction. */
  async take(txnId: string, key: string, amount: number): Promise<void> {
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw new Error(`amount must be a positive whole number, got ${amount}`);
    }
    const found = await this.#pool.query(`SELECT 1 FROM ${this.#schema}.items WHERE key = $1`, [
      key,
    ]);
    if (found.rowCount === 0) {
      throw new Error(`unknown ${this.#unit} '${key}'`);
    }
    await this.#pool.query(
      `INSERT INTO ${this.#schema}.takes (txn_id, key, amount) VALUES ($1, $2, $3)`,
      [txnId, key, amount],
    );
  }

  async prepare(txnId: string): Promise<VoteResult> {
    const s = this.#schema;
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const takes = await client.query<{ key: string; amount: string }>(
        `SELECT key, sum(amount) AS amount FROM ${s}.takes WHERE txn_id = $1 AND NOT prepared GROUP BY key ORDER BY key`,
        [txnId],
      );
      if (takes.rowCount === 0) {
        await client.query('ROLLBACK');
        return { vote: 'READ_ONLY' };
      }
      for (const t of takes.rows) {
        const held = await client.query(
          `UPDATE ${s}.items SET held = held + $2 WHERE key = $1 AND quantity - held >= $2`,
          [t.key, t.amount],
        );
        if (held.rowCount === 0) {
          await client.query('ROLLBACK');
          const left = await this.#pool.query<{ free: string }>(
            `SELECT quantity - held AS free FROM ${s}.items WHERE key = $1`,
            [t.key],
          );
          return {
            vote: 'ABORT',
            reason: `only ${left.rows[0]?.free ?? 0} ${this.#unit} '${t.key}' available, ${t.amount} asked`,
          };
        }
      }
      await client.query(`UPDATE ${s}.takes SET prepared = true WHERE txn_id = $1`, [txnId]);
      await client.query('COMMIT');
      return { vote: 'PREPARED' };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async commit(txnId: string): Promise<void> {
    const s = this.#schema;
    await this.#pool.query(
      `WITH t AS (DELETE FROM ${s}.takes WHERE txn_id = $1 AND prepared RETURNING key, amount),
        g AS (SELECT key, sum(amount) AS amount FROM t GROUP BY key)
      UPDATE ${s}.items i SET quantity = i.quantity - g.amount, held = i.held - g.amount FROM g WHERE i.key = g.key`,
      [txnId],
    );
  }

  async abort(txnId: string): Promise<void> {
    const s = this.#schema;
    await this.#pool.query(
      `WITH t AS (DELETE FROM ${s}.takes WHERE txn_id = $1 RETURNING key, amount, prepared),
        g AS (SELECT key, sum(amount) AS amount FROM t WHERE prepared GROUP BY key)
      UPDATE ${s}.items i SET held = i.held - g.amount FROM g WHERE i.key = g.key`,
      [txnId],
    );
  }

  /** Current quantities. */
  async quantities(): Promise<Record<string, number>> {
    const rows = await this.#pool.query<{ key: string; quantity: string }>(
      `SELECT key, quantity FROM ${this.#schema}.items ORDER BY key`,
    );
    return Object.fromEntries(rows.rows.map((r) => [r.key, Number(r.quantity)]));
  }
}
