import { TxNotFoundError } from 'twopc/internal/contract/errors';
import type { TxId } from '../core/tx-record.ts';
import type { TxScope } from './caller.ts';

/** What the guard reads of the log. */
export interface TxDirectory {
  /** A transaction's tenant, and whether `participant` is enlisted; null if unknown. */
  access(
    txnId: TxId,
    participant: string | null,
  ): Promise<{ tenant: string; enlisted: boolean } | null>;
}

/** Tenants remembered (a transaction's tenant never changes), bounded. */
const CACHE_MAX = 100_000;

/**
 * Hides transactions outside a caller's scope: another tenant's, or for a
 * participant one it is not enlisted in, is NOT_FOUND, exactly as an id
 * that never existed, so ids leak nothing. A transaction's tenant is
 * remembered from its Begin here or its first lookup, so a client's Commit
 * after its Begin costs no extra read.
 */
export class TxGuard {
  readonly #directory: TxDirectory;
  readonly #tenants = new Map<TxId, string>();

  constructor(directory: TxDirectory) {
    this.#directory = directory;
  }

  /** Records the tenant of a transaction begun here. */
  remember(txnId: TxId, tenant: string): void {
    if (this.#tenants.size >= CACHE_MAX) {
      // Oldest first: Map iterates in insertion order.
      const oldest = this.#tenants.keys().next();
      if (oldest.done !== true) {
        this.#tenants.delete(oldest.value);
      }
    }
    this.#tenants.set(txnId, tenant);
  }

  /** @throws TxNotFoundError when the transaction is outside the scope */
  async check(scope: TxScope, txnId: TxId): Promise<void> {
    if (scope.tenant === null) {
      return;
    }
    const known = this.#tenants.get(txnId);
    if (known !== undefined && scope.participant === null) {
      if (known !== scope.tenant) {
        throw new TxNotFoundError(txnId);
      }
      return;
    }
    const access = await this.#directory.access(txnId, scope.participant);
    if (access === null) {
      return; // unknown to the log: the call itself answers NOT_FOUND
    }
    this.remember(txnId, access.tenant);
    if (access.tenant !== scope.tenant || (scope.participant !== null && !access.enlisted)) {
      throw new TxNotFoundError(txnId);
    }
  }
}
