// Runs one example service on its own: `tsx examples/serve-shop.ts accounts`.
// Environment: DATABASE_URL, TWOPC_ADDRESS (the coordinator), LISTEN
// (default 0.0.0.0:50061), ADVERTISE (the host:port the coordinator dials),
// TWOPC_PKI_DIR (mutual TLS with ca.pem and <name>.pem/.key from there).
import { join } from 'node:path';
import { startTracingSdk } from '../src/telemetry/otel-sdk.ts';
import { SHOPS, startShopService } from './shop-service.ts';
import type { ShopName } from './shop-service.ts';

const name = process.argv[2] ?? '';
if (!(name in SHOPS)) {
  console.error(`usage: serve-shop.ts ${Object.keys(SHOPS).join('|')}`);
  process.exit(2);
}
const databaseUrl = process.env.DATABASE_URL ?? '';
const coordinator = process.env.TWOPC_ADDRESS ?? '127.0.0.1:50051';
const listen = process.env.LISTEN ?? '0.0.0.0:50061';
const pki = process.env.TWOPC_PKI_DIR;
const tracing = await startTracingSdk(process.env, name);
const service = await startShopService(name as ShopName, {
  databaseUrl,
  coordinator,
  listen,
  ...(process.env.ADVERTISE ? { advertise: process.env.ADVERTISE } : {}),
  ...(pki === undefined
    ? {}
    : {
        tls: {
          caFile: join(pki, 'ca.pem'),
          certFile: join(pki, `${name}.pem`),
          keyFile: join(pki, `${name}.key`),
        },
      }),
});
console.log(`${name} serving at ${service.endpoint}`);
const stop = (): void => {
  service
    .stop()
    .then(() => tracing?.shutdown())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
