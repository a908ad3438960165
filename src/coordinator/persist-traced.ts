import { trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { TxRecord } from '../core/tx-record.ts';
import { ATTR, SPAN, endWithError, tracer } from 'twopc/internal/telemetry/tracing';
import { persistPlan } from './persist.ts';
import type { Persisted } from './persist.ts';
import type { RunDeps } from './run-deps.ts';

/**
 * The decision write, in a span of its own, timed; the transaction's span
 * gets a `decision` event once the decision is logged (ours or adopted),
 * never before.
 */
export async function persistDecisionTraced(
  deps: RunDeps,
  ctx: Context,
  commit: boolean,
  next: TxRecord,
  onStall: (err: Error) => void,
): Promise<Persisted> {
  const span = tracer().startSpan(
    SPAN.DECISION,
    { attributes: { [ATTR.STATE]: next.state, [ATTR.FORCED]: true } },
    ctx,
  );
  const started = deps.clock.now();
  try {
    const persisted = await persistPlan(deps, { kind: 'decision', commit }, next, onStall);
    deps.metrics.decisionWrite((deps.clock.now() - started) / 1000, commit);
    const logged = persisted.kind === 'adopted' ? persisted.tx : next;
    span.setAttribute('twopc.adopted', persisted.kind === 'adopted');
    span.setAttribute('twopc.refused', persisted.kind === 'refused');
    span.end();
    if (persisted.kind !== 'refused') {
      trace.getSpan(ctx)?.addEvent('decision', {
        [ATTR.STATE]: logged.state,
        [ATTR.REASON]: logged.reason ?? '',
      });
    }
    return persisted;
  } catch (err) {
    endWithError(span, err);
    throw err;
  }
}
