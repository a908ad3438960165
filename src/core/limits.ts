import { InvalidArgumentError } from './errors.ts';
import type { TxId } from './tx-record.ts';

/** Limits on request fields; the proto documents the same numbers. */
export const LIMITS = {
  NAME_MAX: 64,
  ENDPOINT_MAX: 255,
  LABELS_MAX: 16,
  LABEL_KEY_MAX: 63,
  LABEL_VALUE_MAX: 256,
  REASON_MAX: 512,
  PARTICIPANTS_MAX: 32,
  PAGE_SIZE_MAX: 500,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

/**
 * Checks a transaction id (a UUID, as the coordinator hands out) and returns
 * it in lowercase, the one form the log and participants' gids use.
 * @throws InvalidArgumentError
 */
export function parseTxId(value: string, field = 'txn_id'): TxId {
  if (value === '') {
    throw new InvalidArgumentError(field, 'is required');
  }
  const id = value.toLowerCase();
  if (!UUID.test(id)) {
    throw new InvalidArgumentError(field, `'${clip(value)}' is not a transaction id (a UUID)`);
  }
  return id as TxId;
}

/**
 * Checks a participant name (it ends up in participants' global transaction ids).
 * @throws InvalidArgumentError
 */
export function parseName(value: string, field = 'participant.name'): string {
  if (value === '') {
    throw new InvalidArgumentError(field, 'is required');
  }
  if (value.length > LIMITS.NAME_MAX) {
    throw new InvalidArgumentError(
      field,
      `is ${value.length} characters; the limit is ${LIMITS.NAME_MAX}`,
    );
  }
  if (!NAME.test(value)) {
    throw new InvalidArgumentError(
      field,
      `'${clip(value)}' may hold only [A-Za-z0-9._-] and must start with a letter or digit`,
    );
  }
  return value;
}

/**
 * Checks a participant endpoint: `host:port`.
 * @throws InvalidArgumentError
 */
export function parseEndpoint(value: string, field = 'participant.endpoint'): string {
  if (value === '') {
    throw new InvalidArgumentError(field, 'is required (host:port)');
  }
  if (value.length > LIMITS.ENDPOINT_MAX) {
    throw new InvalidArgumentError(
      field,
      `is ${value.length} characters; the limit is ${LIMITS.ENDPOINT_MAX}`,
    );
  }
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon);
  const port = Number(value.slice(colon + 1));
  const portOk = /^\d{1,5}$/.test(value.slice(colon + 1)) && port >= 1 && port <= 65535;
  if (colon <= 0 || !HOST.test(host) || !portOk) {
    throw new InvalidArgumentError(field, `'${clip(value)}' is not host:port (port 1-65535)`);
  }
  return value;
}

/**
 * Checks labels against the limits.
 * @throws InvalidArgumentError
 */
export function parseLabels(labels: Record<string, string>): Record<string, string> {
  const entries = Object.entries(labels);
  if (entries.length > LIMITS.LABELS_MAX) {
    throw new InvalidArgumentError(
      'labels',
      `has ${entries.length} entries; the limit is ${LIMITS.LABELS_MAX}`,
    );
  }
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > LIMITS.LABEL_KEY_MAX || !NAME.test(key)) {
      throw new InvalidArgumentError(
        'labels',
        `key '${clip(key)}' must be 1-${LIMITS.LABEL_KEY_MAX} characters of [A-Za-z0-9._-]`,
      );
    }
    if (value.length > LIMITS.LABEL_VALUE_MAX) {
      throw new InvalidArgumentError(
        `labels[${key}]`,
        `is ${value.length} characters; the limit is ${LIMITS.LABEL_VALUE_MAX}`,
      );
    }
  }
  return labels;
}

/**
 * Checks a free-text reason.
 * @throws InvalidArgumentError
 */
export function parseReason(value: string, field = 'reason'): string {
  if (value.length > LIMITS.REASON_MAX) {
    throw new InvalidArgumentError(
      field,
      `is ${value.length} characters; the limit is ${LIMITS.REASON_MAX}`,
    );
  }
  return value;
}

/** Cuts participant-supplied text to the stored size. */
export function truncateReason(value: string): string {
  return value.length > LIMITS.REASON_MAX ? `${value.slice(0, LIMITS.REASON_MAX - 1)}…` : value;
}

function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
