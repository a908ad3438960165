import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { SystemClock } from 'twopc/internal/time/system-clock';
import { freePort } from '../support/hooks.ts';

async function occupy(): Promise<{ server: Server; address: string }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, address: `127.0.0.1:${port}` };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('start-up failures name the right setting and leave nothing running', function () {
  this.timeout(60_000);
  let dataDir: string;

  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'twopc-start-'));
  });
  afterEach(function () {
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [setting, flag] of [
    ['metricsListen', '--metrics-listen'],
    ['listen', '--listen'],
  ] as const) {
    it(`names ${flag} when its port is taken, and stops the embedded PostgreSQL it started`, async function () {
      const taken = await occupy();
      const pgPort = await freePort();
      const config = {
        ...loadConfig([], {}),
        dataDir,
        embeddedPgPort: pgPort,
        listen: '127.0.0.1:0',
        metricsListen: '127.0.0.1:0',
        [setting]: taken.address,
      };
      try {
        await assert.rejects(
          startApp(config, silentLogger(), new SystemClock()),
          new RegExp(`cannot listen on ${taken.address}: address in use \\(set ${flag}\\)`),
        );
        assert.equal(await accepts(pgPort), false, 'the embedded PostgreSQL still runs');
        assert.equal(existsSync(join(dataDir, 'pgdata', 'postmaster.pid')), false);
      } finally {
        taken.server.close();
      }
    });
  }
});
