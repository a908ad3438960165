import { fromTimestamp } from 'twopc/internal/wire/proto';
import type { TransactionView } from 'twopc/internal/twopc-client';
import { printable } from './printable.ts';

/** An outcome without its prefix (OUTCOME_COMMITTED → COMMITTED). */
export const outcomeName = (o: string): string => o.replace('OUTCOME_', '');
/** A vote without its prefix, '-' before it is known. */
export const voteName = (v: string): string =>
  v === 'VOTE_UNSPECIFIED' ? '-' : v.replace('VOTE_', '');

/** One dated event of a transaction. */
export interface Entry {
  readonly at: Date;
  readonly text: string;
}

/**
 * Every dated event of a transaction, oldest first, as text for a human:
 * the stored text in it (reasons, names, errors) has its control
 * characters escaped (see printable).
 */
export function timeline(tx: TransactionView): Entry[] {
  const entries: Entry[] = [];
  const add = (ts: Parameters<typeof fromTimestamp>[0], text: string): void => {
    const at = fromTimestamp(ts);
    if (at !== null) {
      entries.push({ at, text: printable(text) });
    }
  };
  const decided = fromTimestamp(tx.decidedAt);
  add(tx.createdAt, 'begun');
  for (const p of tx.participants) {
    add(p.enlistedAt, `enlisted ${p.name} (${p.endpoint})`);
    add(
      p.votedAt,
      `${p.name} voted ${voteName(p.vote)}${p.voteReason ? `: ${p.voteReason}` : ''} (logged with the decision)`,
    );
    const acked = fromTimestamp(p.acknowledgedAt);
    const after =
      acked !== null && decided !== null
        ? `, ${acked.getTime() - decided.getTime()} ms after the decision`
        : '';
    add(
      p.acknowledgedAt,
      `${p.name} acknowledged${p.attempts > 0 ? ` after ${p.attempts} failed attempts` : ''}${after}`,
    );
    const retryAt = fromTimestamp(p.nextAttemptAt);
    if (!p.acknowledged && p.attempts > 0 && retryAt !== null) {
      add(
        p.nextAttemptAt,
        `${p.name}: ${p.attempts} attempts failed, last: ${p.lastError}; next retry at ${retryAt.toISOString()}`,
      );
    }
    if (p.heuristicOutcome !== 'OUTCOME_UNSPECIFIED') {
      add(
        p.acknowledgedAt,
        `${p.name} reported a HEURISTIC outcome: ${outcomeName(p.heuristicOutcome)}`,
      );
    }
  }
  const begun = fromTimestamp(tx.createdAt);
  const took =
    decided !== null && begun !== null
      ? ` (${decided.getTime() - begun.getTime()} ms after begin)`
      : '';
  add(
    tx.decidedAt,
    `decided ${outcomeName(tx.outcome)}${tx.reason ? `: ${tx.reason}` : ''}${took}`,
  );
  for (const a of tx.operatorActions) {
    add(
      a.at,
      `operator ${a.action}${a.participant ? ` ${a.participant}` : ''}${a.detail ? `: ${a.detail}` : ''}`,
    );
  }
  add(tx.finishedAt, `finished ${tx.state}`);
  return entries.sort((x, y) => x.at.getTime() - y.at.getTime());
}
