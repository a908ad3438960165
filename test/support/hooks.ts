import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../bench/ports.ts';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres-server.ts';
import type { EmbeddedServer } from '../../src/store/embedded-postgres-server.ts';

let server: EmbeddedServer | null = null;
let dir: string | null = null;

/** A free TCP port on loopback (shared with the benchmark). */
export { freePort };

let starting: Promise<string> | null = null;

/**
 * The run's PostgreSQL, started on first use (unit tests never pay for it):
 * DATABASE_URL when set, otherwise one embedded server for the whole run.
 */
export function ensureDatabase(): Promise<string> {
  starting ??= (async () => {
    const external = process.env.DATABASE_URL;
    if (external !== undefined && external !== '') {
      return external;
    }
    dir = await mkdtemp(join(tmpdir(), 'twopc-test-'));
    server = await startEmbeddedPostgres({
      dataDir: dir,
      port: await freePort(),
      log: () => undefined,
    });
    return server.url;
  })();
  return starting;
}

/** Root hooks: stop the embedded server after the run. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await server?.stop();
    if (dir !== null) {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
