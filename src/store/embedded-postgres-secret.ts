import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

/**
 * The superuser password every data directory was given before each had a
 * secret of its own: anyone could guess it. A directory still using it is
 * moved to a secret at its next start (adoptSecret).
 */
export const LEGACY_PASSWORD = 'twopc';

/** The file, in the data directory, holding its superuser password (mode 0600). */
export const SECRET_FILE = 'postgres-password';
/** A secret made for a directory whose server does not know it yet. */
const PENDING_FILE = `${SECRET_FILE}.new`;

/** The superuser password of a data directory, and whether its server still has to learn it. */
export interface DirectorySecret {
  readonly password: string;
  /** The directory was made with the old fixed password: adoptSecret() once the server runs. */
  readonly adopt: boolean;
}

async function readSecret(file: string): Promise<string> {
  // Readable by this OS user only, whatever it was made with.
  await chmod(file, 0o600);
  return (await readFile(file, 'utf8')).trim();
}

/** A new random secret in `file`, created readable by this OS user only. */
async function newSecret(file: string): Promise<string> {
  const password = randomBytes(24).toString('hex');
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

/**
 * The data directory's superuser password: read from its secret file, or
 * made for a directory about to be initialised, or made (and marked to
 * adopt) for a directory initialised with the old fixed password.
 * @param initialised whether `pgdata` already holds a cluster
 */
export async function directorySecret(
  dataDir: string,
  initialised: boolean,
): Promise<DirectorySecret> {
  const file = join(dataDir, SECRET_FILE);
  if (existsSync(file)) {
    return { password: await readSecret(file), adopt: false };
  }
  if (!initialised) {
    return { password: await newSecret(file), adopt: false };
  }
  const pending = join(dataDir, PENDING_FILE);
  const password = existsSync(pending) ? await readSecret(pending) : await newSecret(pending);
  return { password, adopt: true };
}

/**
 * Moves a running server made with the old fixed password to the
 * directory's secret: connects with the old password (or the secret, when
 * an earlier start changed it and died before saying so), sets the secret,
 * and only then names the file as the directory's secret. A crash at any
 * point leaves a directory the next start can finish.
 * @throws Error when neither password is accepted
 */
export async function adoptSecret(dataDir: string, port: number, password: string): Promise<void> {
  for (const tried of [LEGACY_PASSWORD, password]) {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password: tried,
      database: 'postgres',
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      if ((err as { code?: string }).code === '28P01') {
        continue; // not this password
      }
      throw err;
    }
    try {
      await client.query(`ALTER ROLE postgres PASSWORD ${client.escapeLiteral(password)}`);
    } finally {
      await client.end();
    }
    await rename(join(dataDir, PENDING_FILE), join(dataDir, SECRET_FILE));
    return;
  }
  throw new Error(
    `the embedded PostgreSQL in ${dataDir} accepts neither its old password nor ${join(dataDir, PENDING_FILE)}; set its superuser password to the latter by hand, or start with a new --data-dir`,
  );
}
