import pg from 'pg';
import { sql, testDatabaseUrl } from './db.ts';

/**
 * A gate in the real log: a trigger makes every decision write (a move out
 * of ACTIVE/PREPARING) of one schema take an advisory lock that the test
 * holds, so the write stays in flight, with its row locked, until the test
 * lets it through or kills the backend writing it.
 */
export class DecisionGate {
  readonly #key: number;
  readonly #holder: pg.Client;

  private constructor(key: number, holder: pg.Client) {
    this.#key = key;
    this.#holder = holder;
  }

  /** Installs the trigger in `schema` (once per schema) and holds the gate closed. */
  static async close(schema: string, key: number): Promise<DecisionGate> {
    await sql(
      schema,
      `CREATE OR REPLACE FUNCTION twopc_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.state IN ('ACTIVE', 'PREPARING') AND NEW.state NOT IN ('ACTIVE', 'PREPARING') THEN
           PERFORM pg_advisory_xact_lock(${key});
         END IF;
         RETURN NEW;
       END $$`,
    );
    await sql(schema, 'DROP TRIGGER IF EXISTS twopc_test_gate ON twopc_transactions');
    await sql(
      schema,
      `CREATE TRIGGER twopc_test_gate BEFORE UPDATE ON twopc_transactions
       FOR EACH ROW EXECUTE FUNCTION twopc_test_gate()`,
    );
    const holder = new pg.Client({ connectionString: await testDatabaseUrl() });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [key]);
    return new DecisionGate(key, holder);
  }

  /** The backends whose decision write waits at the gate. */
  async waiting(): Promise<number[]> {
    const rows = await this.#holder.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`,
      [this.#key],
    );
    return rows.rows.map((r) => r.pid);
  }

  /** Resolves once a decision write waits at the gate. */
  async untilWaiting(timeoutMs = 10_000): Promise<number[]> {
    const start = Date.now();
    for (;;) {
      const pids = await this.waiting();
      if (pids.length > 0) {
        return pids;
      }
      if (Date.now() - start > timeoutMs) {
        throw new Error(`no decision write reached the gate within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Kills the backends waiting at the gate: their writes never land. */
  async killWaiting(): Promise<void> {
    for (const pid of await this.waiting()) {
      await this.#holder.query('SELECT pg_terminate_backend($1)', [pid]);
    }
  }

  /** Lets every write through, and removes the gate for good. */
  async open(schema: string): Promise<void> {
    // Unlocked first: dropping the trigger waits for the writes it holds.
    await this.#holder.query('SELECT pg_advisory_unlock_all()');
    await this.#holder.end();
    await sql(schema, 'DROP TRIGGER IF EXISTS twopc_test_gate ON twopc_transactions');
  }
}
