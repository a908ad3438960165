import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { assertBankInvariants, createBanks, quiesce } from '../support/bank.ts';
import type { BankProcess, Transfer } from '../support/bank.ts';
import { ACCOUNTS } from '../support/bank.ts';
import { TwopcProcess } from '../support/child.ts';
import { freePort } from '../support/hooks.ts';
import { OwnPostgres } from '../support/own-postgres.ts';

const SECONDS = Number(process.env.TWOPC_CHAOS_SECONDS ?? '30');
const SEED = Number(process.env.TWOPC_CHAOS_SEED ?? String(Date.now() % 1_000_000));
const BANKS = 3;
const WORKERS = 6;

/** Deterministic random numbers from the seed (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FaultCounts {
  coordinatorKills: number;
  bankKills: number;
  logCrashes: number;
}

for (const channel of ['batched', 'unary'] as const) {
  describe(`bank-transfer chaos, ${channel} participant channel: SIGKILLs and log PostgreSQL crashes during concurrent transfers (${SECONDS} s, seed ${SEED})`, function () {
    const batched = channel === 'batched';
    this.timeout((SECONDS + 150) * 1000);
    const random = rng(SEED);
    let banks: BankProcess[] = [];
    let logDb: OwnPostgres | null = null;
    let coordinator: TwopcProcess | null = null;
    let env: Record<string, string>;

    before(async function () {
      this.timeout(120_000);
      console.log(`      chaos seed ${SEED} (replay: TWOPC_CHAOS_SEED=${SEED})`);
      // The log on a PostgreSQL of its own, which the chaos crashes; a long
      // WAL writer delay leaves unforced commits unflushed for seconds, so a
      // crash really loses them.
      logDb = await OwnPostgres.create({ wal_writer_delay: "'2000ms'" });
      env = {
        DATABASE_URL: logDb.url(),
        TWOPC_DB_SCHEMA: 'twopc',
        TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
        TWOPC_COORDINATOR_NAME: 'chaos',
        TWOPC_RETRY_BASE_MS: '50',
        TWOPC_RETRY_CAP_MS: '500',
        TWOPC_PREPARE_TIMEOUT_MS: '3000',
        TWOPC_CALL_TIMEOUT_MS: '2000',
        TWOPC_HEARTBEAT_INTERVAL_MS: '250',
        TWOPC_SWEEP_INTERVAL_MS: '200',
        TWOPC_RECOVERY_INTERVAL_MS: '500',
      };
      banks = await createBanks(`twopc_chaos_${channel}`, BANKS);
      coordinator = new TwopcProcess(['serve'], env);
      await coordinator.serving();
      for (const b of banks) {
        await b.start(env.TWOPC_LISTEN ?? '', batched);
      }
    });

    after(async function () {
      await coordinator?.kill('SIGKILL');
      await Promise.all(banks.map((b) => b.close()));
      await logDb?.destroy();
    });

    async function worker(client: TwopcClient, until: number, log: Transfer[]): Promise<void> {
      while (Date.now() < until) {
        const [from, to] = [Math.floor(random() * BANKS), Math.floor(random() * (BANKS - 1))];
        const target = to >= from ? to + 1 : to;
        const amount = 1 + Math.floor(random() * 200);
        const [src, dst] = [banks[from], banks[target]];
        let txnId = '';
        try {
          txnId = (await client.begin({ timeoutMs: 4_000 })).txnId;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const entry: Transfer = { txnId, amount, told: 'UNKNOWN' };
        log.push(entry);
        try {
          await src?.apply(txnId, `acct${1 + Math.floor(random() * ACCOUNTS)}`, -amount);
          await dst?.apply(txnId, `acct${1 + Math.floor(random() * ACCOUNTS)}`, amount);
        } catch {
          entry.told = await client.abort(txnId).then(
            (a) => a.outcome as Transfer['told'],
            () => 'UNKNOWN',
          );
          continue;
        }
        entry.told = await client.commit(txnId, { timeoutMs: 8_000 }).then(
          (a) => a.outcome as Transfer['told'],
          () => 'UNKNOWN',
        );
      }
    }

    /**
     * One fault at a time, at random moments: every third a crash of the log's
     * PostgreSQL, the others a coordinator SIGKILL (with a bank's, sometimes).
     */
    async function chaos(until: number): Promise<FaultCounts> {
      const counts: FaultCounts = { coordinatorKills: 0, bankKills: 0, logCrashes: 0 };
      for (let i = 0; Date.now() < until - 3_000; i++) {
        await new Promise((r) => setTimeout(r, 1_500 + random() * 3_000));
        if (i % 3 === 1) {
          // The log's PostgreSQL crashes (immediate: unflushed WAL lost) and
          // comes back; the coordinator lives on and must cope.
          await logDb?.crash();
          counts.logCrashes++;
          await new Promise((r) => setTimeout(r, 100 + random() * 700));
          await logDb?.start();
          continue;
        }
        await coordinator?.kill('SIGKILL');
        counts.coordinatorKills++;
        const victim = random() < 0.4 ? banks[Math.floor(random() * BANKS)] : undefined;
        if (victim !== undefined) {
          await victim.kill();
          counts.bankKills++;
        }
        await new Promise((r) => setTimeout(r, 200 + random() * 600));
        coordinator = new TwopcProcess(['serve'], env);
        await coordinator.serving();
        await victim?.start(env.TWOPC_LISTEN ?? '', batched);
      }
      return counts;
    }

    it('keeps money conserved, applies every transfer exactly once or not at all, leaves nothing prepared', async function () {
      const client = new TwopcClient(env.TWOPC_LISTEN ?? '', { attempts: 3, callTimeoutMs: 5_000 });
      const until = Date.now() + SECONDS * 1000;
      const log: Transfer[] = [];
      const [faults] = await Promise.all([
        chaos(until),
        ...Array.from({ length: WORKERS }, () => worker(client, until, log)),
      ]);
      // Every transaction final in the log (no coordinator restart needed:
      // the live one re-reads the log after a store crash), nothing prepared.
      const final = await quiesce(client, banks, log, 90_000);
      await assertBankInvariants(banks, log, final);
      const tally = { COMMITTED: 0, ABORTED: 0, UNKNOWN: 0 };
      log.forEach((t) => tally[t.told]++);
      console.log(
        `      ${log.length} transfers: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted, ${tally.UNKNOWN} answers lost; faults: ${faults.coordinatorKills} coordinator SIGKILLs, ${faults.bankKills} bank SIGKILLs, ${faults.logCrashes} log PostgreSQL crashes`,
      );
      assert.ok(tally.COMMITTED > 0, 'nothing committed: the test proved nothing');
      assert.ok(faults.logCrashes > 0, 'no log crash injected: raise TWOPC_CHAOS_SECONDS');
      // The channel under test carries the calls: one more transfer through
      // the live coordinator (the killed ones' counts died with them).
      const probe = (await client.begin()).txnId;
      await banks[0]?.apply(probe, 'acct1', -1);
      await banks[1]?.apply(probe, 'acct1', 1);
      assert.equal((await client.commit(probe, { waitForAcks: true })).outcome, 'COMMITTED');
      const url = /"metrics":"([^"]+)"/.exec(coordinator?.output ?? '')?.[1] ?? '';
      const metrics = await (await fetch(url)).text();
      const sent = (t: string): number =>
        Number(
          new RegExp(`^twopc_participant_calls_total\\{transport="${t}"[^}]*\\} (\\d+)`, 'm').exec(
            metrics,
          )?.[1],
        );
      console.log(
        `      live coordinator: ${sent('batched')} calls batched, ${sent('unary')} unary`,
      );
      if (batched) {
        assert.ok(sent('batched') > 0, 'no call went on the batched channel');
      } else {
        assert.equal(sent('batched'), 0);
        assert.ok(sent('unary') > 0);
      }
      client.close();
    });
  });
}
