import { TxState } from '../contract/tx-state.ts';
import type { TransactionState__Output } from './generated/twopc/v1/TransactionState.ts';

const PREFIX = 'TRANSACTION_STATE_';

/** A state as the wire names it (`COMMITTED` → `TRANSACTION_STATE_COMMITTED`). */
export function wireStateName(state: TxState): TransactionState__Output {
  return `${PREFIX}${state}`;
}

/**
 * A wire state as a TxState: `TRANSACTION_STATE_COMMITTED`, or `COMMITTED`
 * from a coordinator of before the prefix; null for UNSPECIFIED or unknown.
 */
export function stateFromWire(wire: string | number): TxState | null {
  if (typeof wire !== 'string') {
    return null;
  }
  const name = wire.startsWith(PREFIX) ? wire.slice(PREFIX.length) : wire;
  return name in TxState ? (name as TxState) : null;
}
