import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { TwopcParticipant, serverTlsCredentials } from 'twopc';
import { Ledger } from './ledger.ts';

/** The two example services: which gRPC service and method each exposes. */
export const SHOPS = {
  accounts: {
    service: 'Accounts',
    method: 'Debit',
    unit: 'money in account',
    initial: { alice: 100, bob: 50 },
  },
  inventory: {
    service: 'Inventory',
    method: 'Reserve',
    unit: 'units of',
    initial: { widget: 5, gadget: 2 },
  },
} as const;
export type ShopName = keyof typeof SHOPS;

interface TakeRequest {
  key: string;
  amount: string;
}

/** Loads shop.v1 (longs as strings). */
export function loadShopProto(): grpc.GrpcObject {
  const file = fileURLToPath(new URL('./proto/shop.proto', import.meta.url));
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, { longs: String, defaults: true }));
}

/** A running example participant service. */
export interface ShopService {
  readonly name: ShopName;
  readonly endpoint: string;
  readonly ledger: Ledger;
  stop(): Promise<void>;
}

/**
 * Starts one example service: its business API and twopc.v1.Participant on
 * one gRPC server, its data in its own schema of `databaseUrl`.
 */
export async function startShopService(
  name: ShopName,
  options: {
    databaseUrl: string;
    coordinator: string;
    listen: string;
    advertise?: string;
    /** Mutual TLS with this CA and this service's certificate, both ways. */
    tls?: { caFile: string; certFile: string; keyFile: string };
  },
): Promise<ShopService> {
  const shop = SHOPS[name];
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  pool.on('error', () => undefined);
  const ledger = new Ledger(pool, name, shop.unit);
  await ledger.setUp(shop.initial);
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      options.listen,
      options.tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : serverTlsCredentials(options.tls).credentials,
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  const endpoint =
    options.advertise ?? `${options.listen.slice(0, options.listen.lastIndexOf(':'))}:${port}`;
  const participant = new TwopcParticipant({
    name,
    endpoint,
    coordinator: options.coordinator,
    ...(options.tls === undefined ? {} : { coordinatorOptions: { tls: options.tls } }),
    handlers: ledger,
  });
  participant.addTo(server);
  const svc = (loadShopProto().shop as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const definition = (svc[shop.service] as grpc.ServiceClientConstructor).service;
  server.addService(definition, {
    [shop.method]: participant.unary<TakeRequest, object>(async (call, txnId) => {
      if (txnId === null) {
        throw Object.assign(new Error('call this inside a transaction (metadata twopc-txn-id)'), {
          code: grpc.status.FAILED_PRECONDITION,
        });
      }
      await ledger.take(txnId, call.request.key, Number(call.request.amount));
      return {};
    }),
  });
  return {
    name,
    endpoint,
    ledger,
    stop: async () => {
      // Drain first: no new work, phase 2 of prepared branches finished.
      await participant.drain(10_000);
      participant.close();
      server.forceShutdown();
      await pool.end();
    },
  };
}
