import { InvalidArgumentError } from 'twopc/internal/contract/errors';
import { parseName } from 'twopc/internal/contract/limits';
import type { ListTransactionsRequest__Output } from 'twopc/internal/wire/generated/twopc/v1/ListTransactionsRequest';
import { stateFromWire, wireStateName } from 'twopc/internal/wire/wire-state';

const FLAGS = ['stuck', 'heuristic'] as const;
const KNOWN = new Set([
  'state',
  'stuck',
  'heuristic',
  'label',
  'participant',
  'minAge',
  'tenant',
  'pageSize',
  'pageToken',
]);

function whole(query: URLSearchParams, name: string): number {
  const raw = query.get(name);
  if (raw === null || raw === '') {
    return 0;
  }
  if (!/^\d{1,9}$/.test(raw)) {
    throw new InvalidArgumentError(name, `'${raw}' is not a whole number`);
  }
  return Number(raw);
}

/**
 * The Operator's ListTransactions request a console query asks for:
 * `state` (repeated; ACTIVE or TRANSACTION_STATE_ACTIVE), `stuck`,
 * `heuristic` (true/false), `label` (repeated k=v), `participant`,
 * `minAge` (seconds), `tenant`, `pageSize`, `pageToken`.
 * @throws InvalidArgumentError naming the parameter to fix
 */
export function listQuery(query: URLSearchParams): {
  request: ListTransactionsRequest__Output;
  participant: string | null;
} {
  for (const key of query.keys()) {
    if (!KNOWN.has(key)) {
      throw new InvalidArgumentError(key, `unknown parameter (use ${[...KNOWN].join(', ')})`);
    }
  }
  const flag = (name: (typeof FLAGS)[number]): boolean => {
    const raw = query.get(name);
    if (raw === null || raw === '' || raw === 'false') {
      return false;
    }
    if (raw !== 'true') {
      throw new InvalidArgumentError(name, `'${raw}' is not true or false`);
    }
    return true;
  };
  const states = query.getAll('state').map((s) => {
    const state = stateFromWire(s);
    if (state === null) {
      throw new InvalidArgumentError('state', `'${s}' is not a transaction state`);
    }
    return wireStateName(state);
  });
  const labels: Record<string, string> = {};
  for (const pair of query.getAll('label')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new InvalidArgumentError('label', `'${pair}' is not key=value`);
    }
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const participant = query.get('participant') ?? '';
  return {
    request: {
      states,
      minAgeSeconds: whole(query, 'minAge'),
      pageSize: whole(query, 'pageSize'),
      pageToken: query.get('pageToken') ?? '',
      stuckOnly: flag('stuck'),
      heuristicOnly: flag('heuristic'),
      labels,
      tenant: query.get('tenant') ?? '',
      participant,
    },
    participant: participant === '' ? null : parseName(participant, 'participant'),
  };
}
