import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  chownSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually } from './expect-status.ts';
import { freePort } from './hooks.ts';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PASSWORD = 'ha-secret';

/** One Patroni-managed PostgreSQL node. */
interface Node {
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly config: string;
  readonly dataDir: string;
  patroni: ChildProcess | null;
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres']).toString().trim());
}

/**
 * The log on the engines made for it, from Debian's packages: etcd as the
 * configuration store, two PostgreSQL 15 nodes managed by Patroni
 * (synchronous_mode_strict unless asked otherwise) and HAProxy routing to
 * whichever node Patroni's REST API reports as the primary.
 */
export class HaCluster {
  readonly dir: string;
  readonly proxyPort: number;
  readonly nodes: Node[] = [];
  readonly #procs: ChildProcess[] = [];
  readonly #uid = idOf('-u');
  readonly #gid = idOf('-g');
  #etcdPort = 0;
  #stopped = false;

  private constructor(dir: string, proxyPort: number) {
    this.dir = dir;
    this.proxyPort = proxyPort;
  }

  /** The URL coordinators use: through HAProxy, always the current primary. */
  url(database = 'postgres'): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.proxyPort}/${database}`;
  }

  static async start(options: { synchronous: boolean }): Promise<HaCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'twopc-ha-'));
    const cluster = new HaCluster(dir, await freePort());
    chownSync(dir, cluster.#uid, cluster.#gid);
    await cluster.#startEtcd();
    for (const name of ['pg1', 'pg2']) {
      cluster.nodes.push(await cluster.#node(name, options.synchronous));
    }
    // The first node bootstraps the cluster; the second clones it.
    const [first, second] = cluster.nodes as [Node, Node];
    cluster.startNode(first);
    await eventually(async () => (await cluster.role(first)) === 'primary', 60_000, 'pg1 primary');
    cluster.startNode(second);
    await cluster.#startHaproxy();
    await cluster.waitHealthy(options.synchronous);
    return cluster;
  }

  #spawn(cmd: string, args: string[], log: string, asPostgres: boolean): ChildProcess {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asPostgres ? { uid: this.#uid, gid: this.#gid } : {}),
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    let out = '';
    const keep = (d: Buffer): void => {
      out = (out + d.toString()).slice(-20_000);
      if (!this.#stopped) {
        try {
          writeFileSync(join(this.dir, log), out);
        } catch {
          // the directory is being removed
        }
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#procs.push(child);
    return child;
  }

  /**
   * Starts etcd on two fresh ports. A port handed out by freePort() can be
   * taken again before etcd binds it (etcd then exits at once): such a start
   * is tried again on other ports, and a start that fails for good says why.
   */
  async #startEtcd(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.#etcdPort = await freePort();
      let peer = await freePort();
      while (peer === this.#etcdPort) {
        peer = await freePort();
      }
      const data = join(this.dir, `etcd-${attempt}`);
      const etcd = this.#spawn(
        'etcd',
        [
          '--name=e1',
          `--data-dir=${data}`,
          '--enable-v2=true',
          `--listen-client-urls=http://127.0.0.1:${this.#etcdPort}`,
          `--advertise-client-urls=http://127.0.0.1:${this.#etcdPort}`,
          `--listen-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-cluster=e1=http://127.0.0.1:${peer}`,
        ],
        'etcd.log',
        false,
      );
      await eventually(
        async () =>
          etcd.exitCode !== null ||
          etcd.signalCode !== null ||
          (await fetch(`http://127.0.0.1:${this.#etcdPort}/version`).then(
            (r) => r.ok,
            () => false,
          )),
        30_000,
        'etcd answering',
      );
      if (etcd.exitCode === null && etcd.signalCode === null) {
        return;
      }
      if (attempt >= 3) {
        throw new Error(
          `etcd exited at start (code ${etcd.exitCode}) three times; see ${join(this.dir, 'etcd.log')}`,
        );
      }
    }
  }

  async #node(name: string, synchronous: boolean): Promise<Node> {
    const pgPort = await freePort();
    const restPort = await freePort();
    const dataDir = join(this.dir, name);
    const config = join(this.dir, `${name}.yml`);
    writeFileSync(
      config,
      `scope: twopc-log
name: ${name}
restapi:
  listen: 127.0.0.1:${restPort}
  connect_address: 127.0.0.1:${restPort}
etcd:
  host: 127.0.0.1:${this.#etcdPort}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: ${synchronous ? 1048576 : 1073741824}
    synchronous_mode: ${synchronous}
    synchronous_mode_strict: ${synchronous}
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_log_hints: 'on'
        max_connections: 200
  initdb:
    - encoding: UTF8
    - locale: C
  pg_hba:
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:${pgPort}
  connect_address: 127.0.0.1:${pgPort}
  data_dir: ${dataDir}
  bin_dir: ${PG_BIN}
  pgpass: ${join(this.dir, `${name}.pgpass`)}
  authentication:
    superuser: {username: postgres, password: ${PASSWORD}}
    replication: {username: replicator, password: ${PASSWORD}}
    rewind: {username: postgres, password: ${PASSWORD}}
  parameters:
    unix_socket_directories: '${this.dir}'
`,
    );
    chownSync(config, this.#uid, this.#gid);
    return { name, pgPort, restPort, config, dataDir, patroni: null };
  }

  /** Starts (or restarts) a node's Patroni, which starts its PostgreSQL. */
  startNode(node: Node): void {
    node.patroni = this.#spawn('patroni', [node.config], `${node.name}.log`, true);
  }

  async #startHaproxy(): Promise<void> {
    const cfg = join(this.dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      `global
  maxconn 500
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s
listen primary
  bind 127.0.0.1:${this.proxyPort}
  option httpchk OPTIONS /primary
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
${this.nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.pgPort} check port ${n.restPort}`).join('\n')}
`,
    );
    this.#spawn('haproxy', ['-f', cfg, '-db'], 'haproxy.log', false);
  }

  /** What Patroni's REST API says a node is: primary, replica, or null (down). */
  async role(node: Node): Promise<string | null> {
    return fetch(`http://127.0.0.1:${node.restPort}/patroni`, {
      signal: AbortSignal.timeout(1_000),
    })
      .then((r) => r.json() as Promise<{ role?: string; state?: string }>)
      .then(
        // Patroni 3.0 still says 'master'.
        (j) =>
          j.state === 'running' ? (j.role === 'master' ? 'primary' : (j.role ?? null)) : null,
        () => null,
      );
  }

  /** The current primary. */
  async primary(): Promise<Node | null> {
    for (const n of this.nodes) {
      if ((await this.role(n)) === 'primary') {
        return n;
      }
    }
    return null;
  }

  /** Waits until another node than `old` is the primary (Patroni promoted it). */
  async promotedOver(old: Node, timeoutMs: number): Promise<void> {
    await eventually(
      async () => {
        const now = await this.primary();
        return now !== null && now !== old;
      },
      timeoutMs,
      'the standby promoted',
    );
  }

  /** Waits until writes go through the proxy and a standby streams (in sync, when synchronous). */
  async waitHealthy(synchronous: boolean, timeoutMs = 90_000): Promise<void> {
    await eventually(
      async () => {
        const c = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1_000 });
        try {
          await c.connect();
          await c.query('SET statement_timeout = 2000');
          const r = await c.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'${synchronous ? " AND sync_state = 'sync'" : ''}`,
          );
          if (r.rows[0]?.n !== 1) {
            return false;
          }
          await c.query(
            'CREATE TABLE IF NOT EXISTS ha_probe (x int); INSERT INTO ha_probe VALUES (1)',
          );
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      timeoutMs,
      'the cluster taking writes',
    );
  }

  /** A machine lost: its Patroni and its PostgreSQL SIGKILLed. */
  kill(node: Node): void {
    node.patroni?.kill('SIGKILL');
    try {
      const pid = Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
    } catch {
      // not running
    }
  }

  /** The standby's WAL receiver processes (its replication link): pausing them makes it fall behind. */
  walReceivers(): number[] {
    try {
      return execFileSync('pgrep', ['-f', 'walreceiver'])
        .toString()
        .trim()
        .split('\n')
        .filter((x) => x !== '')
        .map(Number);
    } catch {
      return []; // pgrep exits 1 when nothing matches
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const p of this.#procs) {
      p.kill('SIGKILL');
    }
    for (const n of this.nodes) {
      this.kill(n);
    }
    // A SIGKILLed postmaster's children (a paused WAL receiver, a checkpointer
    // finishing a write) outlive it for a moment and can still create files in
    // its data directory: every process working in the cluster's directory is
    // killed, and the directory removed once none is left.
    await eventually(
      async () => {
        const left = processesWorkingIn(this.dir);
        left.forEach((pid) => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        });
        return left.length === 0;
      },
      10_000,
      'no process left in the cluster directory',
    );
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}

/** Live processes (zombies aside) whose working directory is inside dir. */
function processesWorkingIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && state !== 'Z') {
        pids.push(Number(entry));
      }
    } catch {
      // exited while being read, or not ours to read
    }
  }
  return pids;
}
