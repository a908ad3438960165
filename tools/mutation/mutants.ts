/**
 * The mutation kit: bugs planted one at a time in a scratch copy of the
 * tree, each a small named patch naming the rule of DESIGN §3 it breaks
 * (or the bug the simulation or a test once found). Each must be caught
 * by the simulation's default seeds or the unit tests; a patch of the SQL
 * is caught by the differential test against the real PostgreSQL, which
 * runs the same random operations through the simulated store.
 *
 * A patch replaces `find` (which must occur exactly once in `file`) by
 * `replace`. When the code it patches changes, the kit fails loudly
 * (`find` not found) rather than skipping it.
 */
export interface Mutant {
  readonly name: string;
  /** The rule it breaks: "§3 rule N: …", or the bug once found. */
  readonly breaks: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** What must catch it: the simulation and unit tests (default), or the differential SQL test. */
  readonly by?: 'sim' | 'sql';
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'phase-2-before-the-decision-lands',
    breaks: '§3 rule 2 and 13: the decision is durable before any phase-2 message leaves',
    file: 'src/coordinator/persist.ts',
    find: `    case 'decision':
      return persistDecision(deps, next, onStall);`,
    replace: `    case 'decision':
      void persistDecision(deps, next, onStall).catch(() => undefined);
      return WRITTEN;`,
  },
  {
    name: 'one-phase-outcome-unforced',
    breaks: '§3 rule 2: a one-phase outcome is durable before it is told',
    file: 'src/coordinator/write-plan.ts',
    find: `return { kind: 'completion', from: before.state, forced: true };`,
    replace: `return { kind: 'completion', from: before.state, forced: false };`,
  },
  {
    name: 'reported-without-a-durability-barrier',
    breaks: '§3 rule 2 and 9: an outcome read back is made durable before it is reported',
    file: 'src/coordinator/coordinator.ts',
    find: `    if (isDecided(view.state)) {
      await this.#deps.store.makeDurable(view.txnId);`,
    replace: `    if (view.state === TxState.ACTIVE) {
      await this.#deps.store.makeDurable(view.txnId);`,
  },
  {
    name: 'phase-2-given-up-after-the-cap',
    breaks: '§3 rule 4: Commit/Abort are re-sent until each participant acknowledges',
    file: 'src/coordinator/tx-effects.ts',
    find: `    if (phase === 'abort' && attempt >= config.abortAttempts && mayGiveUp(run, effect.name)) {`,
    replace: `    if (attempt >= config.abortAttempts) {`,
  },
  {
    name: 'abort-given-up-though-a-prepare-may-have-reached',
    breaks:
      '§3 rule 16 (seed 3901 of the first version): an endpoint that may have received a Prepare is never given up',
    file: 'src/coordinator/tx-effects.ts',
    find: `return !run.tx.onePhase && p !== undefined && p.vote === null && run.neverReached(name);`,
    replace: `return !run.tx.onePhase && p !== undefined && p.vote === null;`,
  },
  {
    name: 'abort-skips-a-participant-whose-vote-never-came',
    breaks: '§3 rule 4: an abort goes to every participant that may have received a Prepare',
    file: 'src/core/decide.ts',
    find: `    .filter((p) => needsPhaseTwo(aborting, p) && !p.acked)`,
    replace: `    .filter((p) => needsPhaseTwo(aborting, p) && !p.acked && p.vote !== null)`,
  },
  {
    name: 'recovery-presumes-commit',
    breaks: '§3 rule 1: no commit decision in the log means abort',
    file: 'src/core/decide.ts',
    find: `      return startAbort(tx, AbortReason.COORDINATOR_RECOVERY);`,
    replace: `      return tx.participants.every((p) => p.vote !== Vote.ABORT)
        ? decideCommit(tx)
        : startAbort(tx, AbortReason.COORDINATOR_RECOVERY);`,
  },
  {
    name: 'ambiguous-write-trusted',
    breaks: '§3 rule 9: an ambiguous decision write is resolved by re-reading, not guessed',
    file: 'src/coordinator/persist.ts',
    find: `      onStall(coerceError(err));
      warnStalled(deps, next, n, err);`,
    replace: `      onStall(coerceError(err));
      warnStalled(deps, next, n, err);
      if (decision) {
        return WRITTEN;
      }`,
  },
  {
    name: 'lost-decision-race-not-adopted',
    breaks: '§3 rules 3 and 8: whichever decision lands first wins, the others read it',
    file: 'src/coordinator/persist.ts',
    find: `        case DecisionWrite.LOST:
          return null;`,
    replace: `        case DecisionWrite.LOST:
          return WRITTEN;`,
  },
  {
    name: 'one-phase-aborted-on-a-timeout',
    breaks: '§3 rule 15: a one-phase Commit that may have arrived is in doubt, not aborted',
    file: 'src/coordinator/one-phase-commit.ts',
    find: `        await run.safeApply({
          type: 'abort:requested',
          reason: truncateReason(reason),
          kind: 'PARTICIPANT_FAILED',
        });`,
    replace: `        await run.safeApply({
          type: 'onephase:answered',
          outcome: Outcome.ABORTED,
          reason: truncateReason(reason),
        });`,
  },
  {
    name: 'one-phase-failure-taken-as-never-sent',
    breaks:
      '§3 rule 16: only a one-phase Commit that provably never reached its participant is an abort told at once',
    file: 'src/coordinator/one-phase-commit.ts',
    find: `      if (neverArrived(err) && attempt === 1) {`,
    replace: `      if (err !== null && attempt === 1) {`,
  },
  {
    name: 'decided-commit-aborted-by-a-client',
    breaks: '§3 rule 3 and 10: a decision never changes; after it, nothing aborts',
    file: 'src/core/decide.ts',
    find: `      return tx.state === TxState.ABORTING ? unchanged(tx) : invalid(tx, event);`,
    replace: `      return tx.state === TxState.ABORTING ? unchanged(tx) : startAbort(tx, event.reason);`,
  },
  {
    name: 'commit-sent-to-read-only-voters',
    breaks: '§3 rule 5: READ_ONLY voters get no phase 2',
    file: 'src/core/decide.ts',
    find: `    return p.vote === Vote.PREPARED;
  }`,
    replace: `    return p.vote !== Vote.ABORT;
  }`,
  },
  {
    name: 'vanished-row-committed',
    breaks: '§3 rule 1: a transaction the log does not know is aborted',
    file: 'src/coordinator/persist.ts',
    find: `  if (decision) {
    return REFUSED;
  }`,
    replace: `  if (decision) {
    return WRITTEN;
  }`,
  },
  {
    name: 'events-of-a-run-not-serialized',
    breaks:
      '§3 rule 13 (seed 13 of the first version): events of one transaction apply one at a time',
    file: 'src/coordinator/tx-run.ts',
    find: `    const result = this.#queue.then(work);`,
    replace: `    const result = work();`,
  },
  {
    name: 'abandoned-early-prepares-not-followed',
    breaks:
      '§3 rules 4 and 16 (seeds 2139 and 3156 of the first version): an early Prepare whose claim failed is told Abort once the log says abort',
    file: 'src/coordinator/abandoned-prepares.ts',
    find: `  if (sent.length === 0) {`,
    replace: `  if (sent.length >= 0) {`,
  },
  {
    name: 'enlisted-participant-prepared-early',
    breaks:
      '§3 rules 2 and 4 (seeds 7565, 10258 and 11560 of this version): a participant enlisted (unforced) gets no Prepare before a forced write after its Enlist',
    file: 'src/coordinator/coordinator.ts',
    find: `      early = await EarlyPrepares.send(this.#deps, txnId, ctx, known.named);`,
    replace: `      early = await EarlyPrepares.send(this.#deps, txnId, ctx, [...known.named, ...known.enlisted]);`,
  },
  {
    name: 'no-barrier-for-participants-enlisted-elsewhere',
    breaks:
      '§3 rules 2 and 4: a participant enlisted through another coordinator (or not known here) gets its Prepare only after a forced write',
    file: 'src/coordinator/coordinator.ts',
    find: `      tx.enlistedAfterBegin &&
      !durableClaim &&`,
    replace: `      tx.enlistedAfterBegin &&
      tx.participants.length < 0 &&
      !durableClaim &&`,
  },
  {
    name: 'abandoned-early-prepares-followed-only-where-unlisted',
    breaks:
      '§3 rule 16 (seeds 428 and 1322 of this version): a participant another coordinator gave up on may hold an early Prepare',
    file: 'src/coordinator/abandoned-prepares.ts',
    find: `      await Promise.all(sent.map((p) => tellAbort(deps, txnId, p)));`,
    replace: `      const unlisted = sent.filter(
        (p) => view === null || !view.participants.some((x) => x.name === p.name),
      );
      await Promise.all(unlisted.map((p) => tellAbort(deps, txnId, p)));`,
  },
  {
    name: 'every-commit-a-clean-abort',
    breaks:
      'liveness: all PREPARED leads to COMMITTING (a cowardly coordinator passes every safety check)',
    file: 'src/core/decide.ts',
    find: `  return { ok: true, next: { ...tx, state: TxState.COMMITTING }, effects };`,
    replace: `  return startAbort(tx, 'cowardly');`,
  },
  {
    name: 'stall-rejection-unhandled',
    breaks:
      'seed 1615 of this version: a rejection nobody handles ends the process (a coordinator crash)',
    file: 'src/coordinator/commit-wait.ts',
    find: `  raced.catch(() => undefined);`,
    replace: ``,
  },
  {
    name: 'barrier-before-the-read',
    breaks:
      'seed 2058 of this version, §3 rule 9: a state read back is made durable after the read, so the barrier covers what was read',
    file: 'src/coordinator/persist.ts',
    find: `  let stored = await deps.store.get(txnId);
  for (;;) {`,
    replace: `  if ((await deps.store.makeDurable(txnId)) !== null) {
    return deps.store.get(txnId);
  }
  let stored = null as TxView | null;
  for (;;) {`,
  },
  {
    name: 'recovery-resends-phase-2-without-a-barrier',
    breaks:
      'seed 41 of this version, §3 rule 2: a decision read by recovery is durable before its phase 2 is re-sent',
    file: 'src/coordinator/tx-run.ts',
    find: `    const view = await durableReadRetrying(this.deps, this.#logged.txnId);`,
    replace: `    const view = this.#logged;`,
  },
  {
    name: 'decision-sql-without-the-incarnation-fence',
    breaks:
      '§3 rule 2: a commit decision only while the transaction began in the store incarnation of now',
    file: 'src/store/pg-queries.ts',
    find: `        AND (d.state NOT IN ('COMMITTING', 'COMMITTED') OR COALESCE(x.store_token = cur.token, false))`,
    replace: ``,
    by: 'sql',
  },
  {
    name: 'decision-sql-not-write-once',
    breaks: '§3 rule 3: the decision write only moves a transaction out of ACTIVE/PREPARING',
    file: 'src/store/pg-queries.ts',
    find: `      WHERE x.txn_id = d.txn_id AND x.state IN ('ACTIVE', 'PREPARING') AND (NOT x.one_phase OR d.one_phase)`,
    replace: `      WHERE x.txn_id = d.txn_id AND (NOT x.one_phase OR d.one_phase)`,
    by: 'sql',
  },
  {
    name: 'decision-sql-over-a-one-phase-claim',
    breaks:
      '§3 rule 8 (seed 3546 of the first version): no two-phase decision over a one-phase claim whose Commit left',
    file: 'src/store/pg-queries.ts',
    find: `x.state IN ('ACTIVE', 'PREPARING') AND (NOT x.one_phase OR d.one_phase)`,
    replace: `x.state IN ('ACTIVE', 'PREPARING')`,
    by: 'sql',
  },
  {
    name: 'one-phase-confirmed-without-the-incarnation-fence',
    breaks:
      '§3 rule 2: a one-phase Commit leaves only while the store kept every write since Begin',
    file: 'src/store/pg-queries.ts',
    find: `      WHERE txn_id = $1 AND state = 'PREPARING' AND one_phase
        AND store_token = (SELECT token FROM twopc_store_incarnation)`,
    replace: `      WHERE txn_id = $1 AND state = 'PREPARING' AND one_phase`,
    by: 'sql',
  },
  {
    name: 'enlist-after-the-commit-claim',
    breaks: '§3 rule 2: no participant joins a transaction once its Commit has begun',
    file: 'src/store/pg-queries.ts',
    find: `      FROM c WHERE x.txn_id = c.txn_id AND x.state = 'ACTIVE' AND x.participant_count + c.n <= $4`,
    replace: `      FROM c WHERE x.txn_id = c.txn_id AND x.participant_count + c.n <= $4`,
    by: 'sql',
  },
  {
    name: 'orphans-claimed-from-a-live-coordinator',
    breaks: '§6: recovery claims only the work of a coordinator whose lease ran out',
    file: 'src/store/pg-queries.ts',
    find: `        AND (t.owner_id IS NULL OR c.id IS NULL OR c.lease_expires_at < now())`,
    replace: ``,
    by: 'sql',
  },
];
