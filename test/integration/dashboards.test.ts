import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../src/package-version.ts';
import { loadMigrations } from '../../src/store/migrate.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** twopc metric names an expression uses, with a histogram's suffixes taken off. */
function metricNames(text: string): Set<string> {
  return new Set(
    [...text.matchAll(/\btwopc_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')),
  );
}

describe('dashboards and alerts use what the coordinator exports', function () {
  let h: Harness;
  const fleet = new FakeFleet();
  const scrape = async (): Promise<string> =>
    (await fetch(`http://${h.app.metricsAddress}/metrics`)).text();
  const exported = (metrics: string): Set<string> =>
    new Set(
      [...metrics.matchAll(/^(twopc_[a-z0-9_]+?)(_bucket|_sum|_count)?\{/gm)].map(
        (m) => m[1] ?? '',
      ),
    );

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    await fleet.stopAll();
    await h.stop();
  });

  it('exports every counter and gauge series at start-up, at zero, with bounded labels', async function () {
    const metrics = await scrape();
    for (const series of [
      'twopc_transactions_begun_total{',
      'twopc_transactions_finished_total{outcome="COMMITTED",reason="none"',
      'twopc_transactions_finished_total{outcome="ABORTED",reason="LEASE_EXPIRED"',
      'twopc_transactions_finished_total{outcome="ABORTED",reason="CLIENT_ABORT"',
      'twopc_phase2_retries_total{phase="commit"',
      'twopc_heuristic_outcomes_total{reported="ABORTED"',
      'twopc_recovered_transactions_total{',
      'twopc_participant_calls_total{transport="batched"',
      'twopc_store_up{',
    ]) {
      assert.ok(metrics.includes(series), `${series}… missing at start-up`);
    }
    assert.match(metrics, /^twopc_store_up\{[^}]*\} 1$/m);
    // Process and runtime metrics, from prom-client.
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(metrics, new RegExp(`^${name} [0-9.e+-]+$`, 'm'), `${name} missing`);
    }
  });

  it('says which release this coordinator runs and the log schema it found (twopc_build_info)', async function () {
    const latest = (await loadMigrations()).at(-1)?.id ?? 0;
    assert.match(
      await scrape(),
      new RegExp(
        `^twopc_build_info\\{version="${VERSION.replace(/\./g, '\\.')}",log_schema="${latest}"[^}]*\\} 1$`,
        'm',
      ),
    );
  });

  it('every metric in the Grafana dashboard and the alert rules exists once work has run', async function () {
    const [a, b] = [await fleet.start('a'), await fleet.start('b')];
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    await h.client.commit(txnId, { waitForAcks: true });
    const have = exported(await scrape());
    // A participant's heartbeat gauge exists while it is waited on: one that never votes.
    const silent = await fleet.start('silent', { vote: 'hang' });
    const { txnId: waiting } = await h.client.begin({ participants: [a.ref, silent.ref] });
    const pending = h.client.commit(waiting);
    await eventually(async () => /^twopc_participant_up\{/m.test(await scrape()));
    exported(await scrape()).forEach((m) => have.add(m));
    await pending;
    const dashboard = await readFile(`${ROOT}deploy/grafana/dashboards/twopc.json`, 'utf8');
    const exprs = (
      JSON.parse(dashboard) as { panels: { targets: { expr: string }[] }[] }
    ).panels.flatMap((p) => p.targets.map((t) => t.expr));
    const rules = await readFile(`${ROOT}deploy/prometheus/twopc-alerts.yml`, 'utf8');
    const used = new Set([...metricNames(exprs.join('\n')), ...metricNames(rules)]);
    // The runtime panels' metrics (prom-client), exported under their own names.
    const runtime = [...exprs.join('\n').matchAll(/\b(process|nodejs|rpc_server)_[a-z0-9_]+/g)].map(
      (m) => m[0].replace(/_(sum|count|bucket)$/, ''),
    );
    assert.ok(runtime.length >= 4, 'no runtime panel');
    // The garbage collector's histogram has series once a collection was
    // observed: garbage enough for a young-generation collection, until one is.
    await eventually(async () => {
      Array.from({ length: 200_000 }, (_, i) => ({ i, s: `garbage ${i}` })).length;
      return /^nodejs_gc_duration_seconds_count[ {]/m.test(await scrape());
    });
    const text = await scrape();
    for (const name of runtime) {
      assert.match(
        text,
        new RegExp(`^${name}(_sum|_count|_bucket)?[ {]`, 'm'),
        `${name} not exported`,
      );
    }
    assert.ok(used.size >= 12, `only ${used.size} metrics used`);
    const missing = [...used].filter((m) => !have.has(m));
    assert.deepEqual(missing, [], 'used by a dashboard or an alert but not exported');
  });

  it('exports per-method gRPC server metrics: every method and status served, by the RPC conventions', async function () {
    const { txnId } = await h.client.begin();
    await h.client.get('00000000-0000-4000-8000-000000000000').catch(() => undefined);
    await h.client.get('not-an-id').catch(() => undefined);
    await h.client.abort(txnId);
    const text = await scrape();
    const count = (method: string, status: string): number => {
      const m = new RegExp(
        `^rpc_server_call_duration_count\\{rpc_system_name="grpc",rpc_method="twopc\\.v1\\.Coordinator/${method}",rpc_status_code="${status}"[^}]*\\} (\\d+)`,
        'm',
      ).exec(text);
      return Number(m?.[1] ?? 0);
    };
    assert.ok(count('Begin', 'OK') >= 1, text);
    assert.ok(count('GetTransaction', 'NOT_FOUND') >= 1);
    assert.ok(count('GetTransaction', 'INVALID_ARGUMENT') >= 1);
    assert.ok(count('Abort', 'OK') >= 1);
    assert.match(text, /^rpc_server_call_duration_bucket\{[^}]*le="0\.005"/m, 'duration buckets');
  });
});
