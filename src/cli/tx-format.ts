import type { TransactionView } from 'twopc/internal/twopc-client';
import { fromTimestamp } from 'twopc/internal/wire/proto';
import { printable } from '../shared/printable.ts';
import { outcomeName as outcome, timeline, voteName as vote } from '../shared/timeline.ts';

/** Aligns rows into columns, each cell's control characters escaped (it is stored text). */
export function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map(printable));
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function age(from: Date | null, now: Date): string {
  if (from === null) {
    return '-';
  }
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function flags(tx: TransactionView): string {
  return (
    [tx.stuck ? 'STUCK' : '', tx.heuristic ? 'HEURISTIC' : ''].filter((f) => f !== '').join(',') ||
    '-'
  );
}

/** `twopc tx list` as a table. */
export function formatList(txs: TransactionView[], now: Date): string {
  const rows = [['TXN_ID', 'STATE', 'OUTCOME', 'AGE', 'ACKED', 'FLAGS', 'REASON']];
  for (const tx of txs) {
    const acked = tx.participants.filter((p) => p.acknowledged).length;
    rows.push([
      tx.txnId,
      tx.state,
      tx.state === 'IN_DOUBT' ? 'UNKNOWN' : outcome(tx.outcome),
      age(fromTimestamp(tx.createdAt), now),
      `${acked}/${tx.participants.length}`,
      flags(tx),
      tx.reason || '-',
    ]);
  }
  return table(rows);
}

/** `twopc tx show` as text: every stored text escaped (see printable). */
export function formatShow(tx: TransactionView): string {
  const labels =
    Object.entries(tx.labels)
      .map(([k, v]) => printable(`${k}=${v}`))
      .join(' ') || '-';
  const first = printable(tx.participants[0]?.name ?? '');
  const head = [
    `transaction ${printable(tx.txnId)}`,
    tx.state === 'IN_DOUBT'
      ? `  state    IN_DOUBT: the one-phase Commit to '${first}' got no answer; it is asked until it answers, or run\n           twopc tx resolve ${tx.txnId} --participant ${first} --as committed|aborted --note …\n           once its own database says which${tx.stuck ? '  STUCK' : ''}`
      : `  state    ${tx.state} (outcome ${outcome(tx.outcome)})${tx.stuck ? '  STUCK' : ''}${tx.heuristic ? '  HEURISTIC' : ''}`,
    `  reason   ${printable(tx.reason) || '-'}`,
    `  labels   ${labels}`,
    `  trace    ${printable(tx.traceId) || '-'}`,
    `  tenant   ${printable(tx.tenant) || '-'}${tx.principal ? `  (begun by ${printable(tx.principal)})` : ''}`,
    // A lease matters only while the transaction is ACTIVE.
    tx.state === 'ACTIVE'
      ? `  lease    ${fromTimestamp(tx.leaseExpiresAt)?.toISOString() ?? '-'}`
      : `  ${tx.onePhase ? 'one-phase commit' : 'two-phase commit'}`,
  ];
  const parts = [['NAME', 'ENDPOINT', 'VOTE', 'ACK', 'ATTEMPTS', 'HEURISTIC', 'LAST ERROR']];
  for (const p of tx.participants) {
    parts.push([
      p.name,
      p.endpoint,
      vote(p.vote),
      p.acknowledged ? 'yes' : 'no',
      String(p.attempts),
      p.heuristicOutcome === 'OUTCOME_UNSPECIFIED' ? '-' : outcome(p.heuristicOutcome),
      p.lastError || '-',
    ]);
  }
  const begun = fromTimestamp(tx.createdAt)?.getTime() ?? 0;
  const lines = timeline(tx).map(
    (e) => `  +${String(e.at.getTime() - begun).padStart(7)} ms  ${e.at.toISOString()}  ${e.text}`,
  );
  return [
    ...head,
    '',
    'participants',
    table(parts).replace(/^/gm, '  '),
    '',
    'timeline',
    ...lines,
  ].join('\n');
}
