import { ViewState } from 'twopc/internal/contract/tx-state';
import { wireStateName } from 'twopc/internal/wire/wire-state';

/**
 * A JSON.stringify replacer giving the protobuf JSON mapping of what the
 * generated types hold: a google.protobuf.Timestamp is an RFC 3339 string
 * (null when unset), and a state the SDK reports as a ViewState (COMMITTED)
 * is written under its proto enum name. Field names are already
 * lowerCamelCase, enums their names, 64-bit integers strings.
 */
export function protoJson(key: string, value: unknown): unknown {
  if (key === 'state' && typeof value === 'string' && value in ViewState) {
    return wireStateName(value as ViewState);
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 2 &&
    'seconds' in value &&
    'nanos' in value
  ) {
    const { seconds, nanos } = value as { seconds: string | number; nanos: number };
    return new Date(Number(seconds) * 1000 + Math.floor(nanos / 1e6)).toISOString();
  }
  return value;
}
