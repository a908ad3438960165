// @peculiar/x509 resolves its ASN.1 parts through tsyringe, which needs this polyfill first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

// A development PKI, made on the spot with @peculiar/x509 over Node's
// WebCrypto: the tests, the demo and the compose stack make their
// certificates with it, so no key is ever checked in. Not for production:
// use your organisation's CA (see README "Security").
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 86_400_000;

/** Files of one certificate: its PEM certificate and PKCS#8 key. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** What a leaf certificate names and how long it is valid. */
export interface LeafOptions {
  readonly dns?: string[];
  readonly ips?: string[];
  readonly uris?: string[];
  /** Valid until this many days from now (negative: already expired). */
  readonly days?: number;
}

let serial = 1;

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A certificate authority of its own, writing its files under a directory. */
export class DevCa {
  readonly dir: string;
  readonly caFile: string;
  readonly #cert: x509.X509Certificate;
  readonly #keys: CryptoKeyPair;

  private constructor(
    dir: string,
    caFile: string,
    cert: x509.X509Certificate,
    keys: CryptoKeyPair,
  ) {
    this.dir = dir;
    this.caFile = caFile;
    this.#cert = cert;
    this.#keys = keys;
  }

  static async create(name = 'twopc dev CA', dir?: string): Promise<DevCa> {
    const where = dir ?? mkdtempSync(join(tmpdir(), 'twopc-pki-'));
    mkdirSync(where, { recursive: true });
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: String(serial++).padStart(2, '0'),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 30 * DAY_MS),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const caFile = join(where, `${name.replace(/\W+/g, '-')}.ca.pem`);
    writeFileSync(caFile, cert.toString('pem'));
    return new DevCa(where, caFile, cert, keys);
  }

  /** Issues a certificate (server and client use) and writes it as `<file>.pem` / `<file>.key`. */
  async issue(file: string, options: LeafOptions, dir = this.dir): Promise<CertFiles> {
    const keys = await keyPair();
    const names: x509.JsonGeneralName[] = [
      ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ];
    const days = options.days ?? 7;
    const notAfter = new Date(Date.now() + days * DAY_MS);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: String(serial++).padStart(2, '0'),
      subject: `CN=${file}`,
      issuer: this.#cert.subject,
      notBefore: new Date(Math.min(Date.now() - DAY_MS, notAfter.getTime() - DAY_MS)),
      notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: this.#keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([SERVER_AUTH, CLIENT_AUTH]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
      ],
    });
    const certFile = join(dir, `${file}.pem`);
    const keyFile = join(dir, `${file}.key`);
    writeFileSync(certFile, cert.toString('pem'));
    writeFileSync(keyFile, await keyPem(keys.privateKey));
    return { certFile, keyFile };
  }

  /** Removes the directory. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The demo's identities: who may do what (see README "Security"). */
export const DEMO_PRINCIPALS = {
  shop: 'spiffe://twopc-demo/shop',
  accounts: 'spiffe://twopc-demo/accounts',
  inventory: 'spiffe://twopc-demo/inventory',
  operator: 'spiffe://twopc-demo/operator',
  coordinator: 'spiffe://twopc-demo/coordinator',
} as const;

/**
 * Writes the demo's PKI under `dir`: ca.pem; coordinator, accounts,
 * inventory (servers and clients), shop and operator (clients) as
 * `<name>.pem`/`<name>.key`; identities.json and participants.json.
 * Servers answer to their compose service name, localhost and 127.0.0.1.
 */
export async function writeDemoPki(dir: string): Promise<void> {
  const ca = await DevCa.create('twopc demo CA', dir);
  writeFileSync(join(dir, 'ca.pem'), readFileSync(ca.caFile));
  const server = (name: string): LeafOptions => ({
    dns: [name, 'localhost'],
    ips: ['127.0.0.1'],
    uris: [DEMO_PRINCIPALS[name as keyof typeof DEMO_PRINCIPALS]],
  });
  await ca.issue('coordinator', {
    ...server('coordinator'),
    dns: ['coordinator', 'coordinators', 'localhost'],
  });
  await ca.issue('accounts', server('accounts'));
  await ca.issue('inventory', server('inventory'));
  await ca.issue('shop', { uris: [DEMO_PRINCIPALS.shop] });
  await ca.issue('operator', { uris: [DEMO_PRINCIPALS.operator] });
  const participant = (name: string): object => ({
    tenant: 'demo',
    roles: ['participant'],
    participant: name,
  });
  writeFileSync(
    join(dir, 'identities.json'),
    JSON.stringify(
      {
        principals: {
          [DEMO_PRINCIPALS.shop]: { tenant: 'demo', roles: ['client'] },
          [DEMO_PRINCIPALS.accounts]: participant('accounts'),
          [DEMO_PRINCIPALS.inventory]: participant('inventory'),
          [DEMO_PRINCIPALS.operator]: { roles: ['operator'] },
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'participants.json'),
    JSON.stringify(
      {
        participants: {
          accounts: ['127.0.0.1:*', 'accounts:50061'],
          inventory: ['127.0.0.1:*', 'inventory:50061'],
        },
      },
      null,
      2,
    ),
  );
}
