/**
 * Named failpoints: places in the protocol where a test can make the process
 * die, throw, stall or stop. Inert unless armed, e.g.
 * `TWOPC_FAILPOINTS=after_decision_logged=kill,after_commit_sent:2=delay(500)`.
 * `name:N` fires on the N-th hit only (default: every hit).
 */
export const FAILPOINTS = [
  'after_begin_logged',
  'after_prepare_sent',
  'after_votes_before_decision',
  'during_decision_write',
  'after_decision_logged',
  'after_commit_sent',
  'after_abort_sent',
  'before_completion_logged',
  'in_recovery_loop',
] as const;
export type FailpointName = (typeof FAILPOINTS)[number];

type Action =
  { kind: 'kill' } | { kind: 'throw' } | { kind: 'pause' } | { kind: 'delay'; ms: number };

interface Armed {
  readonly action: Action;
  /** Fire on this hit only; null: every hit. */
  readonly nth: number | null;
  hits: number;
}

/** Thrown by a failpoint armed with `throw`. */
export class FailpointError extends Error {}

const armed = new Map<FailpointName, Armed>();

function parseAction(text: string, entry: string): Action {
  const delay = /^delay\((\d+)\)$/.exec(text);
  if (delay !== null) {
    return { kind: 'delay', ms: Number(delay[1]) };
  }
  if (text === 'kill' || text === 'throw' || text === 'pause') {
    return { kind: text };
  }
  throw new Error(`failpoint '${entry}': action must be kill, throw, pause or delay(ms)`);
}

/**
 * Arms failpoints from a spec (the TWOPC_FAILPOINTS format); returns what
 * was armed. An empty spec disarms everything.
 * @throws Error naming the bad entry
 */
export function armFailpoints(spec: string): string[] {
  armed.clear();
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const entry of entries) {
    const m = /^([a-z_]+)(?::(\d+))?=(.+)$/.exec(entry);
    const name = m?.[1] as FailpointName | undefined;
    if (m === null || name === undefined || !FAILPOINTS.includes(name)) {
      throw new Error(
        `failpoint '${entry}': expected name[:N]=action with a name among ${FAILPOINTS.join(', ')}`,
      );
    }
    armed.set(name, {
      action: parseAction(m[3] ?? '', entry),
      nth: m[2] === undefined ? null : Number(m[2]),
      hits: 0,
    });
  }
  return entries;
}

/**
 * Passes a failpoint. Returns undefined (no await needed) unless it is armed.
 * @throws FailpointError for `throw`
 */
export function failpoint(name: FailpointName): Promise<void> | undefined {
  if (armed.size === 0) {
    return undefined;
  }
  const fp = armed.get(name);
  if (fp === undefined) {
    return undefined;
  }
  fp.hits++;
  if (fp.nth !== null && fp.hits !== fp.nth) {
    return undefined;
  }
  switch (fp.action.kind) {
    case 'kill':
      process.stderr.write(`FAILPOINT ${name} (hit ${fp.hits}): SIGKILL\n`);
      // The caller stops here for good; work already queued (a write being
      // handed to the socket) gets out before the kill, as in a real crash.
      setImmediate(() => process.kill(process.pid, 'SIGKILL'));
      return new Promise(() => undefined);
    case 'throw':
      return Promise.reject(new FailpointError(`failpoint ${name}`));
    case 'pause':
      return new Promise(() => undefined);
    case 'delay': {
      const ms = fp.action.ms;
      return new Promise((resolve) => setTimeout(resolve, ms));
    }
  }
}
