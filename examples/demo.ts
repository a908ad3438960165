// npm run demo: a coordinator (embedded PostgreSQL), the accounts and
// inventory services, one committed and one aborted transaction. Every link
// is mutual TLS and every caller is authenticated, with a PKI made on the
// spot (.twopc/demo/pki).
//
// With TWOPC_ADDRESS and DATABASE_URL set (the docker compose stack), it
// uses that coordinator instead of starting one; TWOPC_PKI_DIR names the
// directory holding the stack's certificates.
//
// With --python, the inventory is the Python service (examples/python,
// Debian's python3-grpcio and python3-grpc-tools) next to the TypeScript
// accounts service, over the same mutual TLS.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { startApp } from '../src/app.ts';
import type { App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { TwopcClient, channelTlsCredentials, txnMetadata } from 'twopc';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres-server.ts';
import type { EmbeddedServer } from '../src/store/embedded-postgres-server.ts';
import { silentLogger } from '../src/telemetry/logger.ts';
import { startTracingSdk } from '../src/telemetry/otel-sdk.ts';
import { quietIpServerNameWarning } from '../src/telemetry/ip-servername-warning.ts';
import { SystemClock } from 'twopc/internal/time/system-clock';
import { writeDemoPki } from './dev-pki.ts';
import { PythonInventory } from './python-inventory.ts';
import { Ledger } from './ledger.ts';
import { loadShopProto, SHOPS, startShopService } from './shop-service.ts';
import type { ShopName, ShopService } from './shop-service.ts';

/** A service of the demo: where it serves, what it holds, how it stops. */
interface DemoService {
  readonly endpoint: string;
  quantities(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const asDemo = (s: ShopService): DemoService => ({
  endpoint: s.endpoint,
  quantities: () => s.ledger.quantities(),
  stop: () => s.stop(),
});

/** A service running elsewhere: its ledger is read from its schema. */
function remoteShop(name: ShopName, endpoint: string, databaseUrl: string): DemoService {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const ledger = new Ledger(pool, name, SHOPS[name].unit);
  return { endpoint, quantities: () => ledger.quantities(), stop: () => pool.end() };
}

type Taker = grpc.Client &
  Record<
    string,
    (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null) => void) => void
  >;

function take(
  stub: Taker,
  method: string,
  txnId: string,
  key: string,
  amount: number,
): Promise<void> {
  return new Promise((resolve, reject) =>
    stub[method]?.({ key, amount }, txnMetadata(txnId), (err) => (err ? reject(err) : resolve())),
  );
}

/** The coordinator's settings for the demo PKI: TLS, mutual TLS to participants, identities, registry. */
function secureFlags(pki: string): string[] {
  return [
    ['--tls-cert', 'coordinator.pem'],
    ['--tls-key', 'coordinator.key'],
    ['--tls-client-ca', 'ca.pem'],
    ['--identities-file', 'identities.json'],
    ['--participants-file', 'participants.json'],
    ['--participant-tls-ca', 'ca.pem'],
    ['--participant-tls-cert', 'coordinator.pem'],
    ['--participant-tls-key', 'coordinator.key'],
  ].flatMap(([flag, file]) => [flag as string, join(pki, file as string)]);
}

async function main(): Promise<void> {
  const python = process.argv.includes('--python');
  // OTEL_* as for `twopc serve`: e.g. OTEL_EXPORTER_OTLP_ENDPOINT exports the traces.
  const tracing = await startTracingSdk(process.env, 'twopc-demo');
  let app: App | null = null;
  let address = process.env.TWOPC_ADDRESS ?? '';
  let databaseUrl = process.env.DATABASE_URL ?? '';
  const dataDir = process.env.TWOPC_DATA_DIR ?? '.twopc/demo';
  const pki = process.env.TWOPC_PKI_DIR ?? join(dataDir, 'pki');
  const ownCoordinator = address === '';
  // Its own coordinator runs secured; a running one is reached as it serves:
  // with the PKI of TWOPC_PKI_DIR (compose), else plaintext (npm start).
  const secure = ownCoordinator || process.env.TWOPC_PKI_DIR !== undefined;
  let servicesDb: EmbeddedServer | null = null;
  if (ownCoordinator) {
    await writeDemoPki(pki);
    const config = loadConfig(
      [
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        dataDir,
        '--embedded-pg-port',
        process.env.TWOPC_EMBEDDED_PG_PORT ?? '54339',
        '--metrics-listen',
        '127.0.0.1:0',
        ...secureFlags(pki),
      ],
      {},
    );
    app = await startApp(config, silentLogger(), new SystemClock());
    address = app.address;
    databaseUrl = app.databaseUrl;
  } else if (databaseUrl === '') {
    // Against a running coordinator (npm start), the example services keep
    // their ledgers in a PostgreSQL of their own: the log's is not theirs.
    servicesDb = await startEmbeddedPostgres({
      dataDir: `${dataDir}-services`,
      port: Number(process.env.TWOPC_EMBEDDED_PG_PORT ?? '54339'),
      log: () => undefined,
    });
    databaseUrl = servicesDb.url;
  }
  console.log(
    `coordinator at ${address}${secure ? ` (mutual TLS; certificates in ${pki})` : ' (plaintext)'}`,
  );
  const tlsOf = (name: string): { caFile: string; certFile: string; keyFile: string } => ({
    caFile: join(pki, 'ca.pem'),
    certFile: join(pki, `${name}.pem`),
    keyFile: join(pki, `${name}.key`),
  });
  // In the compose stack the services run in their own containers.
  const service = async (name: ShopName, remote: string | undefined): Promise<DemoService> =>
    remote
      ? remoteShop(name, remote, databaseUrl)
      : asDemo(
          await startShopService(name, {
            databaseUrl,
            coordinator: address,
            listen: '127.0.0.1:0',
            ...(secure ? { tls: tlsOf(name) } : {}),
          }),
        );
  const accounts = await service('accounts', process.env.ACCOUNTS_ADDRESS);
  const pythonDb = join(dataDir, 'inventory-py.sqlite');
  if (python) {
    // Fresh stock each run, as the TypeScript services seed theirs.
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(`${pythonDb}${suffix}`, { force: true });
    }
  }
  const inventory = python
    ? await new PythonInventory({
        coordinator: address,
        db: pythonDb,
        name: 'inventory',
        ...(secure ? { tls: tlsOf('inventory') } : {}),
      }).start()
    : await service('inventory', process.env.INVENTORY_ADDRESS);
  console.log(
    `inventory: the ${python ? 'Python' : 'TypeScript'} service at ${inventory.endpoint}`,
  );
  const shop = (loadShopProto().shop as grpc.GrpcObject).v1 as Record<
    string,
    grpc.ServiceClientConstructor
  >;
  // The shop calls the services and the coordinator with its own certificate.
  const shopTls = secure
    ? channelTlsCredentials(tlsOf('shop'))
    : { credentials: grpc.credentials.createInsecure(), close: () => undefined };
  const bank = new (shop.Accounts as grpc.ServiceClientConstructor)(
    accounts.endpoint,
    shopTls.credentials,
  ) as Taker;
  const store = new (shop.Inventory as grpc.ServiceClientConstructor)(
    inventory.endpoint,
    shopTls.credentials,
  ) as Taker;
  const client = new TwopcClient(address, secure ? { tls: tlsOf('shop') } : {});
  try {
    console.log(
      `before: accounts ${JSON.stringify(await accounts.quantities())}, inventory ${JSON.stringify(await inventory.quantities())}`,
    );
    for (const [label, widgets] of [
      ['buy 2 widgets for 30', 2],
      ['buy 100 widgets for 10', 100],
    ] as const) {
      const { txnId } = await client.begin({ labels: { demo: 'shop' } });
      await take(bank, 'Debit', txnId, 'alice', label.endsWith('30') ? 30 : 10);
      await take(store, 'Reserve', txnId, 'widget', widgets);
      const answer = await client.commit(txnId, { waitForAcks: true });
      console.log(
        `${label}: ${answer.outcome}${answer.reason ? ` (${answer.reason})` : ''}  txn ${txnId}`,
      );
    }
    console.log(
      `after:  accounts ${JSON.stringify(await accounts.quantities())}, inventory ${JSON.stringify(await inventory.quantities())}`,
    );
  } finally {
    client.close();
    bank.close();
    store.close();
    shopTls.close();
    await accounts.stop();
    await inventory.stop();
    await app?.stop();
    await servicesDb?.stop();
    await tracing?.shutdown();
  }
}

quietIpServerNameWarning();
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`demo failed: ${String(err)}`);
    process.exit(1);
  },
);
