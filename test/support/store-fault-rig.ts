import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { TwopcClient } from 'twopc/internal/twopc-client';
import type { OutcomeAnswer } from 'twopc/internal/twopc-client';
import { assertBankInvariants, createBanks, quiesce } from './bank.ts';
import type { BankProcess, Transfer } from './bank.ts';
import { TwopcProcess } from './child.ts';
import { eventually } from './expect-status.ts';
import { FakeFleet } from './fake-participant.ts';
import type { FakeParticipant } from './fake-participant.ts';
import { freePort } from './hooks.ts';
import { OwnPostgres } from './own-postgres.ts';

/** NOT_FOUND: the crash lost the transaction's Begin; unknown means aborted. */
export function presumedAbort(err: grpc.ServiceError): OutcomeAnswer {
  assert.equal(err.code, grpc.status.NOT_FOUND, err.message);
  return { outcome: 'ABORTED', reason: '', state: 'ABORTED' };
}

/**
 * A mocha suite run against a StoreFaultRig: started before the cases,
 * checked after each (faults healed, every transaction final, the bank
 * invariants), stopped at the end.
 */
export function describeStoreFaults(
  title: string,
  name: string,
  cases: (rig: StoreFaultRig) => void,
): void {
  describe(title, function () {
    this.timeout(90_000);
    const rig = new StoreFaultRig(name);
    before(async function () {
      this.timeout(120_000);
      await rig.start();
    });
    after(async function () {
      await rig.stop();
    });
    afterEach(async function () {
      await rig.checkAfter(this.currentTest?.state === 'failed');
    });
    cases(rig);
  });
}

/**
 * What the store-fault tests share: the log on a PostgreSQL of its own that
 * they crash and restart, one live coordinator on it, two banks (databases
 * through PgParticipant, in processes of their own), fake participants, and
 * the transfers made so far, whose invariants are checked after each case.
 */
export class StoreFaultRig {
  logDb!: OwnPostgres;
  coordinator!: TwopcProcess;
  client!: TwopcClient;
  a!: BankProcess;
  b!: BankProcess;
  readonly fleet = new FakeFleet();
  readonly log: Transfer[] = [];
  #banks: BankProcess[] = [];
  #nextAccount = 0;

  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  async start(): Promise<void> {
    // A long WAL writer delay keeps unforced commits in memory for seconds:
    // a crash loses them, as the faults need. Without full-page images (safe
    // here: an immediate shutdown tears no page) WAL pages fill slowly, so
    // nothing else nudges the writer to flush them early.
    this.logDb = await OwnPostgres.create({
      wal_writer_delay: "'10000ms'",
      full_page_writes: 'off',
      max_connections: '40',
    });
    this.coordinator = new TwopcProcess(['serve'], {
      DATABASE_URL: this.logDb.url(),
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_COORDINATOR_NAME: this.name,
      TWOPC_RETRY_BASE_MS: '20',
      TWOPC_RETRY_CAP_MS: '200',
      TWOPC_SWEEP_INTERVAL_MS: '100',
      TWOPC_RECOVERY_INTERVAL_MS: '300',
      // Renewals are forced writes, which flush everything before them:
      // rare, so that unforced writes stay unflushed until a crash.
      TWOPC_COORDINATOR_LEASE_MS: '60000',
      TWOPC_STORE_STALL_MS: '1000',
      TWOPC_STORE_MAX_PENDING: '50',
    });
    const address = await this.coordinator.serving();
    this.client = new TwopcClient(address, { attempts: 10, callTimeoutMs: 8_000 });
    this.#banks = await createBanks(`twopc_${this.name.replace(/-/g, '_')}`, 2);
    for (const bank of this.#banks) {
      await bank.start(address);
    }
    [this.a, this.b] = this.#banks as [BankProcess, BankProcess];
  }

  async stop(): Promise<void> {
    this.client?.close();
    await this.coordinator?.kill('SIGKILL');
    await Promise.all(this.#banks.map((x) => x.close()));
    await this.fleet.stopAll();
    await this.logDb?.destroy();
  }

  /**
   * After each case every fault heals; then every transaction so far must
   * be final, with the coordinator that lived through the faults, and the
   * bank invariants hold.
   */
  async checkAfter(failed: boolean): Promise<void> {
    if (failed) {
      console.log(this.coordinator.output.slice(-6000));
    }
    await this.logDb.set('synchronous_standby_names', null);
    await this.logDb.set('default_transaction_read_only', null);
    const final = await quiesce(this.client, this.#banks, this.log, 60_000);
    await assertBankInvariants(this.#banks, this.log, final);
  }

  /** The coordinator's gRPC address. */
  get address(): string {
    return /"address":"([^"]+)"[^\n]*twopc serving/.exec(this.coordinator.output)?.[1] ?? '';
  }

  /** The coordinator's Prometheus metrics. */
  async scrape(): Promise<string> {
    const url = /"metrics":"([^"]+)"/.exec(this.coordinator.output)?.[1] ?? '';
    return (await fetch(url)).text();
  }

  #account(): string {
    return `acct${1 + (this.#nextAccount++ % 8)}`;
  }

  /** Begins a transfer of 10 and logs it. */
  async begin(): Promise<Transfer> {
    const t: Transfer = { txnId: (await this.client.begin()).txnId, amount: 10, told: 'UNKNOWN' };
    this.log.push(t);
    return t;
  }

  /** Records what the client was told. */
  tell(t: Transfer, answer: OutcomeAnswer): OutcomeAnswer {
    t.told = answer.outcome === 'PENDING' ? 'UNKNOWN' : answer.outcome;
    return answer;
  }

  /** Commits, or (a leg failed) aborts, as a client would; returns the answer. */
  async finish(t: Transfer, legs: (() => Promise<void>)[]): Promise<OutcomeAnswer> {
    try {
      for (const leg of legs) {
        await leg();
      }
    } catch {
      // Unknown to the log (its Begin was lost): presumed aborted.
      return this.tell(t, await this.client.abort(t.txnId).catch(presumedAbort));
    }
    return this.tell(t, await this.client.commit(t.txnId));
  }

  debit(bank: BankProcess, t: Transfer): () => Promise<void> {
    const account = this.#account();
    return () => bank.apply(t.txnId, account, -t.amount);
  }

  credit(bank: BankProcess, t: Transfer): () => Promise<void> {
    const account = this.#account();
    return () => bank.apply(t.txnId, account, t.amount);
  }

  /** Both legs of a transfer from bank a to bank b. */
  async applyBoth(t: Transfer): Promise<void> {
    await this.debit(this.a, t)();
    await this.credit(this.b, t)();
  }

  /**
   * A transfer with a third, slow voter: Commit is called and returned
   * pending once the slow participant has its Prepare (the votes are out)
   * and the claim is in the log (PREPARING).
   */
  async commitWhilePreparing(
    name: string,
    prepareDelayMs: number,
  ): Promise<{ t: Transfer; slow: FakeParticipant; committing: Promise<OutcomeAnswer> }> {
    const slow = await this.fleet.start(name, { prepareDelayMs });
    const t = await this.begin();
    await this.applyBoth(t);
    await this.client.enlist(t.txnId, slow.ref);
    const committing = this.client.commit(t.txnId);
    await slow.waitFor((c) => c.method === 'Prepare' && c.txnId === t.txnId);
    // Prepare leaves with the commit claim: wait until the claim is logged too.
    await eventually(
      async () => {
        const rows = await this.logDb.sql<{ state: string }>(
          'SELECT state FROM twopc.twopc_transactions WHERE txn_id = $1',
          [t.txnId],
        );
        return rows[0]?.state === 'PREPARING';
      },
      15_000,
      'the commit claim in the log',
    );
    return { t, slow, committing };
  }

  /** The coordinator's backend running a statement like `pattern` while waiting on `event`. */
  async backendWaiting(pattern: string, event: string): Promise<number> {
    return eventually(
      async () => {
        const rows = await this.logDb.sql<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = 'twopc'
             AND wait_event = $1 AND query LIKE $2`,
          [event, `%${pattern}%`],
        );
        return rows[0]?.pid;
      },
      15_000,
      `a backend waiting on ${event}`,
    );
  }

  /**
   * Takes every connection slot, and ends the coordinator's connections, so
   * that it has none and can open none. Repeated until that holds: the
   * coordinator may reconnect between the two.
   */
  async occupyEverySlot(hogs: pg.Client[]): Promise<void> {
    for (;;) {
      for (;;) {
        const c = new pg.Client({ connectionString: this.logDb.url() });
        c.on('error', () => undefined);
        try {
          await c.connect();
          hogs.push(c);
        } catch {
          break;
        }
      }
      const admin = hogs[hogs.length - 1];
      assert.ok(admin !== undefined, 'no connection could be made at all');
      const ended = await admin.query<{ pid: number }>(
        // A coordinator connection still authenticating shows no name yet
        // ('starting'): it must not slip into a slot after this check.
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'twopc' OR (state = 'starting' AND pid <> pg_backend_pid())",
      );
      const max = Number(
        (await admin.query<{ max_connections: string }>('SHOW max_connections')).rows[0]
          ?.max_connections,
      );
      if (ended.rows.length === 0 && hogs.length >= max) {
        // Every slot is a hog's (they are superusers: the reserved ones
        // too). A backend that left pg_stat_activity may still hold its slot
        // for a moment; until the hogs hold them all, one could free up.
        return;
      }
      if (ended.rows.length === 0) {
        await new Promise((r) => setTimeout(r, 20)); // a slot still being released
        continue;
      }
      const pids = ended.rows.map((r) => r.pid);
      await eventually(async () => {
        const left = await admin.query(
          'SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])',
          [pids],
        );
        return left.rows.length === 0;
      });
    }
  }
}
