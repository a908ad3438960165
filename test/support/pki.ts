// @peculiar/x509 resolves its ASN.1 parts through tsyringe, which needs this polyfill first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

// Certificates are made at test time with @peculiar/x509 over Node's WebCrypto:
// no key is ever checked in.
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

/** A certificate authority of its own, writing its files under a temporary directory. */
export class TestCa {
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

  static async create(name = 'twopc test CA', dir?: string): Promise<TestCa> {
    const where = dir ?? mkdtempSync(join(tmpdir(), 'twopc-pki-'));
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
    return new TestCa(where, caFile, cert, keys);
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

/**
 * A certificate directory rotated the way Kubernetes rotates secrets: the
 * files are read through a `current` symlink that is swapped atomically.
 */
export class RotatingDir {
  readonly current: string;
  readonly #root: string;
  #generation = 0;

  constructor(root: string) {
    this.#root = root;
    this.current = join(root, 'current');
  }

  /** Writes a new generation (through `write`) and points `current` at it. */
  async rotate(write: (dir: string) => Promise<void>): Promise<void> {
    const target = mkdtempSync(join(this.#root, `gen-${++this.#generation}-`));
    await write(target);
    const tmp = join(this.#root, `.current-${this.#generation}`);
    symlinkSync(target, tmp);
    renameSync(tmp, this.current);
  }
}
