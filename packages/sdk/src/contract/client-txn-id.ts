import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from './errors.ts';
import type { TxId } from './limits.ts';

/**
 * A client-made transaction id: a lowercase version-7 UUID (RFC 9562). The
 * version tells it apart from the coordinator's own ids (version 4 on one
 * log, version 8 on a sharded one), so the coordinator knows which unknown
 * ids may still be on their way in (a Begin in flight) and which are not.
 */
const CLIENT_TXN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether an id is one a client made (version 7), not the coordinator. */
export function isClientTxnId(txnId: string): boolean {
  return CLIENT_TXN_ID.test(txnId);
}

/**
 * A new client-made transaction id: 48 bits of Unix milliseconds, then 74
 * random bits (time first keeps the log's primary key append-mostly).
 */
export function newClientTxnId(nowMs: number = Date.now(), random = randomBytes(10)): TxId {
  const b = Buffer.alloc(16);
  b.writeUIntBE(nowMs, 0, 6);
  random.copy(b, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as TxId;
}

/**
 * Checks Begin's client-made `txn_id`: exactly as newClientTxnId makes it
 * (lowercase, version 7, RFC 9562 variant). Empty: the coordinator makes one.
 * @throws InvalidArgumentError naming the field and what to fix
 */
export function parseClientTxnId(value: string, field = 'txn_id'): TxId | null {
  if (value === '') {
    return null;
  }
  if (!CLIENT_TXN_ID.test(value)) {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    throw new InvalidArgumentError(
      field,
      `'${shown}' is not a client-made transaction id: a lowercase version-7 UUID (RFC 9562), e.g. 01890a5d-ac96-774b-bcce-b302099a8057`,
    );
  }
  return value as TxId;
}
