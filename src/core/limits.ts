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
 * What PostgreSQL `text` cannot hold: U+0000 (NUL), and a lone UTF-16
 * surrogate (it has no UTF-8 form: the driver would send U+FFFD, so what
 * was stored would not be what was sent).
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/**
 * Checks client-given text that the log stores: no NUL, no lone surrogate
 * (DESIGN §3 rule 14: refused at the edge, before any write).
 * @throws InvalidArgumentError naming the field
 */
export function parseText(value: string, field: string): string {
  const bad = UNSTORABLE.exec(value);
  if (bad !== null) {
    const what = bad[0] === '\u0000' ? 'U+0000 (NUL)' : 'a lone UTF-16 surrogate';
    throw new InvalidArgumentError(
      field,
      `holds ${what} at character ${bad.index}, which the log cannot store; send valid text without it`,
    );
  }
  return value;
}

/**
 * Makes text a participant returned storable (it can never block a
 * decision): NUL is escaped as the six characters `\u0000`, a lone
 * surrogate becomes U+FFFD.
 */
export function storableText(value: string): string {
  return UNSTORABLE.test(value)
    ? value.replace(UNSTORABLE_ALL, (c) => (c === '\u0000' ? '\\u0000' : '\uFFFD'))
    : value;
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
    parseText(value, `labels[${key}]`);
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
  return parseText(value, field);
}

/** Makes participant-supplied text storable and cuts it to the stored size. */
export function truncateReason(value: string): string {
  const text = storableText(value);
  return text.length > LIMITS.REASON_MAX ? `${text.slice(0, LIMITS.REASON_MAX - 1)}…` : text;
}

function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
