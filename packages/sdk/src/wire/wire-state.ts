import { ViewState } from '../contract/tx-state.ts';
import type { TransactionState__Output } from './generated/twopc/v1/TransactionState.ts';

const PREFIX = 'TRANSACTION_STATE_';

/** A state as the wire names it (`COMMITTED` → `TRANSACTION_STATE_COMMITTED`). */
export function wireStateName(state: ViewState): TransactionState__Output {
  return `${PREFIX}${state}`;
}

/**
 * A wire state as a ViewState: `TRANSACTION_STATE_COMMITTED`, or `COMMITTED`
 * from a coordinator of before the prefix; null for UNSPECIFIED or unknown.
 */
export function stateFromWire(wire: string | number): ViewState | null {
  if (typeof wire !== 'string') {
    return null;
  }
  const name = wire.startsWith(PREFIX) ? wire.slice(PREFIX.length) : wire;
  return name in ViewState ? (name as ViewState) : null;
}
