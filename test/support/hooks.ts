import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres-server.ts';
import type { EmbeddedServer } from '../../src/store/embedded-postgres-server.ts';

let server: EmbeddedServer | null = null;
let dir: string | null = null;

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Root hooks: one real PostgreSQL for the whole run. DATABASE_URL (when set)
 * points at an existing server instead of starting the embedded one.
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    if (process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '') {
      process.env.TWOPC_TEST_DATABASE_URL = process.env.DATABASE_URL;
      return;
    }
    dir = await mkdtemp(join(tmpdir(), 'twopc-test-'));
    server = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), log: () => undefined });
    process.env.TWOPC_TEST_DATABASE_URL = server.url;
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await server?.stop();
    if (dir !== null) {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
