import { InvalidArgumentError } from 'twopc/internal/contract/errors';
import { LIMITS, parseLabels, parseTxId } from 'twopc/internal/contract/limits';
import type { Coordinator } from '../coordinator/coordinator.ts';
import type { ListTransactionsRequest__Output } from 'twopc/internal/wire/generated/twopc/v1/ListTransactionsRequest';
import type { ListTransactionsResponse } from 'twopc/internal/wire/generated/twopc/v1/ListTransactionsResponse';
import { viewState, wireTransaction } from './codec.ts';

/** Serves ListTransactions for one scope (a tenant and/or a participant, or everything). */
export async function listTransactions(
  coordinator: Coordinator,
  req: ListTransactionsRequest__Output,
  scope: { tenant: string | null; participant: string | null },
): Promise<ListTransactionsResponse> {
  const states = req.states.map((s) => {
    const state = viewState(s);
    if (state === null) {
      throw new InvalidArgumentError('states', `'${String(s)}' is not a transaction state`);
    }
    return state;
  });
  const limit = req.pageSize === 0 ? 50 : req.pageSize;
  if (limit > LIMITS.PAGE_SIZE_MAX) {
    throw new InvalidArgumentError(
      'page_size',
      `${limit} is over the limit of ${LIMITS.PAGE_SIZE_MAX}`,
    );
  }
  const rows = await coordinator.list({
    states,
    minAgeSeconds: req.minAgeSeconds,
    limit: limit + 1,
    after: parsePageToken(req.pageToken),
    stuckOnly: req.stuckOnly,
    heuristicOnly: req.heuristicOnly,
    labels: parseLabels(req.labels),
    tenant: scope.tenant,
    participant: scope.participant,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const more = rows.length > limit && last !== undefined;
  return {
    transactions: page.map((t) => wireTransaction(t, coordinator.stuckAfterMs)),
    nextPageToken: more ? encodePageToken(last.createdAt, last.txnId) : '',
  };
}

/** Page tokens are opaque to clients: base64url of the last row's sort key. */
export function encodePageToken(createdAt: Date, txnId: string): string {
  return Buffer.from(JSON.stringify({ c: createdAt.toISOString(), t: txnId })).toString(
    'base64url',
  );
}

function parsePageToken(token: string): { createdAt: Date; txnId: string } | null {
  if (token === '') {
    return null;
  }
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      c?: unknown;
      t?: unknown;
    };
    const createdAt = new Date(String(parsed.c));
    if (Number.isNaN(createdAt.getTime()) || typeof parsed.t !== 'string') {
      throw new Error('bad token');
    }
    return { createdAt, txnId: parseTxId(parsed.t, 'page_token') };
  } catch {
    throw new InvalidArgumentError('page_token', 'is not a token returned by ListTransactions');
  }
}
