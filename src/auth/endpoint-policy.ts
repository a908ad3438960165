import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { EndpointNotAllowedError } from 'twopc/internal/contract/errors';

/** One allowed endpoint: a host (name, `*.suffix`, IP or CIDR) and a port (or any). */
interface Pattern {
  readonly host: string;
  readonly port: number | null;
  /** For IP and CIDR patterns: the addresses they name (explicitly allowed even if never dialled otherwise). */
  readonly addresses: BlockList | null;
}

/** The registry: participant name → allowed endpoints. */
export type Registry = ReadonlyMap<string, readonly Pattern[]>;

/** An address of this coordinator that must never be dialled as a participant. */
export interface OwnEndpoint {
  readonly host: string;
  readonly port: number;
  readonly what: string;
}

const family = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Addresses no participant may have: link-local (cloud metadata), unspecified, multicast, broadcast. */
const NEVER = new BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, 169.254.169.254 metadata
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addSubnet('224.0.0.0', 4, 'ipv4');
NEVER.addAddress('255.255.255.255', 'ipv4');
NEVER.addSubnet('100.100.100.200', 32, 'ipv4'); // Alibaba Cloud metadata
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addAddress('::', 'ipv6');
NEVER.addSubnet('ff00::', 8, 'ipv6');
NEVER.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6

/** How long a host's resolved addresses are reused, and how many hosts are kept. */
const LOOKUP_TTL_MS = 5_000;
const LOOKUP_CACHE_MAX = 10_000;

/** This host's own addresses: loopback and every interface. */
function localAddresses(): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  for (const infos of Object.values(networkInterfaces())) {
    for (const info of infos ?? []) {
      list.addAddress(info.address.split('%')[0] ?? info.address, family(info.address));
    }
  }
  return list;
}

function splitHostPort(endpoint: string): { host: string; port: string } {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: endpoint.slice(colon + 1) };
}

/** Parses `host:port` patterns. @throws Error saying what to fix */
export function parsePattern(text: string, where: string): Pattern {
  const { host, port } = splitHostPort(text);
  if (host === '' || !/^(\*|\d{1,5})$/.test(port)) {
    throw new Error(`${where}: '${text}' is not host:port (port may be *)`);
  }
  const [ip, bits] = host.split('/');
  let addresses: BlockList | null = null;
  if (ip !== undefined && isIP(ip) !== 0) {
    addresses = new BlockList();
    const f = family(ip);
    const prefix = bits === undefined ? (f === 'ipv4' ? 32 : 128) : Number(bits);
    addresses.addSubnet(ip, prefix, f);
  }
  return { host: host.toLowerCase(), port: port === '*' ? null : Number(port), addresses };
}

/** Loads `{"participants": {"bank-a": ["bank-a.internal:50061", "10.1.0.0/16:*"]}}`. @throws Error */
export function loadRegistry(path: string): Registry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`participants file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const entries = (parsed as { participants?: unknown } | null)?.participants;
  if (typeof entries !== 'object' || entries === null) {
    throw new Error(`participants file ${path}: needs a "participants" object`);
  }
  const out = new Map<string, Pattern[]>();
  for (const [name, list] of Object.entries(entries)) {
    if (!Array.isArray(list) || list.length === 0) {
      throw new Error(`participants file ${path}: "${name}" needs a list of host:port patterns`);
    }
    out.set(
      name,
      list.map((p) => parsePattern(String(p), `participants file ${path}, "${name}"`)),
    );
  }
  return out;
}

function hostMatches(pattern: Pattern, host: string): boolean {
  if (pattern.addresses !== null) {
    return isIP(host) !== 0 && pattern.addresses.check(host, family(host));
  }
  return pattern.host.startsWith('*.')
    ? host.endsWith(pattern.host.slice(1)) && host.length > pattern.host.length - 1
    : pattern.host === host;
}

/**
 * Which participant endpoints the coordinator will dial, checked before any
 * connection: with a registry only registered names at their allowed
 * endpoints; never a link-local or metadata address, an unspecified or
 * multicast one, or this coordinator's own ports, unless an IP or CIDR
 * pattern of the registry names that address explicitly.
 */
export class EndpointPolicy {
  readonly #registry: Registry | null;
  readonly #own: OwnEndpoint[];
  readonly #local = localAddresses();
  readonly #lookups = new Map<string, { at: number; addresses: Promise<string[]> }>();
  /** Verdicts per (name, endpoint), for as long as the addresses they rest on. */
  readonly #verdicts = new Map<string, { at: number; verdict: Promise<void> }>();

  constructor(registry: Registry | null, own: readonly OwnEndpoint[]) {
    this.#registry = registry;
    this.#own = [...own];
  }

  /** Adds an address of this coordinator known only once bound (a port 0 listener). */
  addOwn(own: OwnEndpoint): void {
    this.#own.push(own);
    this.#verdicts.clear();
  }

  /**
   * @throws EndpointNotAllowedError saying why, before any dial. A verdict
   * is reused for as long as the host's addresses are (every Begin names
   * its participants: the same few endpoints, checked once per interval).
   */
  check(name: string, endpoint: string): Promise<void> {
    const key = `${name}\u0000${endpoint}`;
    const now = performance.now();
    const hit = this.#verdicts.get(key);
    if (hit !== undefined && now - hit.at < LOOKUP_TTL_MS) {
      return hit.verdict;
    }
    if (this.#verdicts.size >= LOOKUP_CACHE_MAX) {
      this.#verdicts.clear();
    }
    const verdict = this.#decide(name, endpoint);
    this.#verdicts.set(key, { at: now, verdict });
    // A refusal is remembered too; an unresolvable host is asked again.
    verdict.catch((err: unknown) => {
      if (/does not resolve/.test(String((err as Error).message))) {
        this.#verdicts.delete(key);
      }
    });
    return verdict;
  }

  async #decide(name: string, endpoint: string): Promise<void> {
    const { host: rawHost, port: portText } = splitHostPort(endpoint);
    const host = rawHost.toLowerCase();
    const port = Number(portText);
    let explicit: Pattern[] = [];
    if (this.#registry !== null) {
      const patterns = this.#registry.get(name);
      if (patterns === undefined) {
        throw new EndpointNotAllowedError(name, 'is not a registered participant');
      }
      const matching = patterns.filter(
        (p) => (p.port === null || p.port === port) && hostMatches(p, host),
      );
      if (matching.length === 0) {
        throw new EndpointNotAllowedError(name, `${endpoint} is not an endpoint allowed for it`);
      }
      explicit = matching.filter((p) => p.addresses !== null);
    }
    for (const address of await this.#resolve(name, host)) {
      const f = family(address);
      if (explicit.some((p) => p.addresses?.check(address, f) === true)) {
        continue;
      }
      if (NEVER.check(address, f)) {
        throw new EndpointNotAllowedError(
          name,
          `${endpoint} is a link-local, metadata, multicast or unspecified address; never dialled`,
        );
      }
      for (const own of this.#own) {
        if (own.port === port && (await this.#isOwn(own, address))) {
          throw new EndpointNotAllowedError(name, `${endpoint} is this coordinator's ${own.what}`);
        }
      }
    }
  }

  /** Whether an address is where `own` listens: this host for local or wildcard hosts. */
  async #isOwn(own: OwnEndpoint, address: string): Promise<boolean> {
    const here = this.#local.check(address, family(address));
    if (
      own.host === '' ||
      own.host === '0.0.0.0' ||
      own.host === '::' ||
      own.host === 'localhost'
    ) {
      return here;
    }
    const ownAddresses =
      isIP(own.host) !== 0 ? [own.host] : await this.#lookup(own.host).catch(() => []);
    return ownAddresses.some((a) => (this.#local.check(a, family(a)) ? here : a === address));
  }

  async #resolve(name: string, host: string): Promise<string[]> {
    if (isIP(host) !== 0) {
      return [host];
    }
    try {
      return await this.#lookup(host);
    } catch {
      throw new EndpointNotAllowedError(name, `host '${host}' does not resolve`);
    }
  }

  /**
   * A host's addresses, remembered for a few seconds: every Begin and
   * Enlist naming a participant checks its endpoint, and a resolver call
   * each time would put DNS on the hot path.
   */
  #lookup(host: string): Promise<string[]> {
    const now = performance.now();
    const hit = this.#lookups.get(host);
    if (hit !== undefined && now - hit.at < LOOKUP_TTL_MS) {
      return hit.addresses;
    }
    if (this.#lookups.size >= LOOKUP_CACHE_MAX) {
      this.#lookups.clear();
    }
    const addresses = lookup(host, { all: true, verbatim: true }).then((list) =>
      list.map((a) => a.address),
    );
    this.#lookups.set(host, { at: now, addresses });
    addresses.catch(() => this.#lookups.delete(host)); // a failure is not remembered
    return addresses;
  }
}
