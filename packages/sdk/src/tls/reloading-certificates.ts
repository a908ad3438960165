import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { experimental } from '@grpc/grpc-js';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** PEM files: an identity (certificate chain and key) and/or trusted CA certificates. */
export interface PemFiles {
  readonly certFile?: string | null;
  readonly keyFile?: string | null;
  readonly caFile?: string | null;
}

export interface Material {
  readonly identity: { certificate: Buffer; privateKey: Buffer } | null;
  readonly ca: { caCertificate: Buffer } | null;
}

/**
 * Reads and checks the files: each certificate parses, the key belongs to
 * the certificate. @throws Error naming the file and the problem
 */
function readMaterial(files: PemFiles): Material {
  const read = (path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  let identity: Material['identity'] = null;
  if (files.certFile != null && files.keyFile != null) {
    const certificate = read(files.certFile);
    const privateKey = read(files.keyFile);
    let matches: boolean;
    try {
      matches = new X509Certificate(certificate).checkPrivateKey(createPrivateKey(privateKey));
    } catch (err) {
      throw new Error(`${files.certFile} / ${files.keyFile}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!matches) {
      throw new Error(`the key in ${files.keyFile} does not belong to ${files.certFile}`);
    }
    identity = { certificate, privateKey };
  }
  let ca: Material['ca'] = null;
  if (files.caFile != null) {
    const caCertificate = read(files.caFile);
    try {
      new X509Certificate(caCertificate);
    } catch (err) {
      throw new Error(`${files.caFile}: ${(err as Error).message}`, { cause: err });
    }
    ca = { caCertificate };
  }
  return { identity, ca };
}

/**
 * A grpc-js certificate provider that reads PEM files again every
 * `reloadMs`: a renewed certificate is used by new connections without a
 * restart. A file that is missing, half-written or whose key does not match
 * keeps the previous material in use (and is reported), so a rotation can
 * never take the listener down. grpc-js's own file watcher would publish
 * "no certificate" in that window.
 */
export class ReloadingCertificates implements CertificateProvider {
  readonly #files: PemFiles;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  readonly #timer: NodeJS.Timeout;
  readonly #onError: (err: Error) => void;
  #material: Material;

  /** @throws Error when the files cannot be used at start */
  constructor(files: PemFiles, reloadMs: number, onError: (err: Error) => void = () => undefined) {
    this.#files = files;
    this.#onError = onError;
    this.#material = readMaterial(files);
    this.#timer = setInterval(() => this.reload(), reloadMs);
    this.#timer.unref();
  }

  /** Reads the files now; keeps the current material if they are not usable. */
  reload(): void {
    let next: Material;
    try {
      next = readMaterial(this.#files);
    } catch (err) {
      this.#onError(err as Error);
      return;
    }
    const before = this.#material;
    this.#material = next;
    if (!sameIdentity(before, next)) {
      for (const listener of this.#identityListeners) {
        listener(next.identity);
      }
    }
    if (!before.ca?.caCertificate.equals(next.ca?.caCertificate ?? Buffer.alloc(0))) {
      for (const listener of this.#caListeners) {
        listener(next.ca);
      }
    }
  }

  /** What is in use now. */
  get current(): Material {
    return this.#material;
  }

  // The first value is given on a later tick: grpc-js registers its own
  // watchers only after adding these listeners.
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => {
      if (this.#caListeners.has(listener)) {
        listener(this.#material.ca);
      }
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identityListeners.has(listener)) {
        listener(this.#material.identity);
      }
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

function sameIdentity(a: Material, b: Material): boolean {
  return (
    a.identity !== null &&
    b.identity !== null &&
    a.identity.certificate.equals(b.identity.certificate) &&
    a.identity.privateKey.equals(b.identity.privateKey)
  );
}
