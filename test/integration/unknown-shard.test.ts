import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { SystemClock } from 'twopc/internal/time/system-clock';
import { startApp } from '../../src/app.ts';
import type { App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { migratedSchema, testDatabaseUrl } from '../support/db.ts';

/** An id of the sharded form naming shard 7 (this coordinator has shard 0 only). */
const onShard7 = (): string => {
  const id = randomUUID();
  return `${id.slice(0, 14)}8007${id.slice(18)}`;
};

describe('a call naming a log shard this coordinator does not have', function () {
  this.timeout(30_000);
  let app: App;
  let logged = '';
  const clients: TwopcClient[] = [];

  const warnings = (): { shard: number; txn_id: string; msg: string }[] =>
    logged
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { shard: number; txn_id: string; msg: string })
      .filter((l) => /log shard this coordinator is not configured with/.test(l.msg));

  async function counter(): Promise<number> {
    const text = await (await fetch(`http://${app.metricsAddress}/metrics`)).text();
    const m = /^twopc_unknown_shard_calls_total(?:\{[^}]*\})? (\d+)/m.exec(text);
    return Number(m?.[1] ?? 'NaN');
  }

  before(async function () {
    const config = {
      ...loadConfig([], {}),
      listen: '127.0.0.1:0',
      metricsListen: '127.0.0.1:0',
      databaseUrl: await testDatabaseUrl(),
      dbSchema: await migratedSchema(import.meta.url),
      dbPoolSize: 4,
      shutdownGraceMs: 500,
    };
    const log = createLogger('warn', { write: (s: string) => void (logged += s) });
    app = await startApp(config, log, new SystemClock());
  });
  after(async function () {
    clients.forEach((c) => c.close());
    await app?.stop();
  });

  it('is answered UNAVAILABLE naming the shard (never NOT_FOUND), counted, and warned of once per shard', async function () {
    const client = new TwopcClient(app.address, { attempts: 1 });
    clients.push(client);
    assert.equal(await counter(), 0);
    const ids = [onShard7(), onShard7(), onShard7(), onShard7()];
    for (const id of ids) {
      await assert.rejects(client.get(id), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.match(err.details, /log shard 7, which this coordinator is not configured with/);
        return true;
      });
    }
    await assert.rejects(client.enlist(ids[0]!, { name: 'p', endpoint: '127.0.0.1:1' }), {
      code: grpc.status.UNAVAILABLE,
    });
    // gRPC's own retry of UNAVAILABLE may send a call more than once.
    assert.ok((await counter()) >= ids.length + 1, `counter ${await counter()}`);
    const lines = warnings();
    assert.ok(lines.length >= 1 && lines.length < ids.length + 1, JSON.stringify(lines));
    assert.equal(lines[0]?.shard, 7);
    assert.equal(lines[0]?.txn_id, ids[0]);
  });

  it("the SDK's retries of it end by the caller's deadline", async function () {
    // Eight attempts would back off for more than 3.5 s in all.
    const client = new TwopcClient(app.address, { attempts: 8, callTimeoutMs: 1_500 });
    clients.push(client);
    const started = performance.now();
    await assert.rejects(client.get(onShard7()), (err: grpc.ServiceError) =>
      [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(err.code),
    );
    const took = performance.now() - started;
    assert.ok(took < 1_500 + 1_000, `the call took ${Math.round(took)} ms with a 1500 ms deadline`);
  });
});
