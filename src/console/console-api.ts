import type { Security } from '../auth/security.ts';
import { recordedPrincipal } from '../auth/caller.ts';
import type { Coordinator } from '../coordinator/coordinator.ts';
import { operatorAbort, resolveParticipant, retryNow } from '../coordinator/operator-actions.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { parseName, parseReason, parseTxId } from '../core/limits.ts';
import { Outcome } from '../core/tx-state.ts';
import { timeline } from '../cli/tx-format.ts';
import { wireOutcomeResult, wireTransaction } from '../grpc/codec.ts';
import type { Transaction__Output } from '../grpc/generated/twopc/v1/Transaction.ts';
import { listTransactions } from '../grpc/list-request.ts';
import { toView } from '../sdk/twopc-client.ts';
import type { Clock } from '../time/clock.ts';
import type { TxView } from '../store/transaction-store.ts';
import { deadlineSignal } from '../time/deadline-signal.ts';
import type { HttpCall } from './http-call.ts';
import { listQuery } from './list-query.ts';

/** A request to the console's API, as the router parsed it. */
export interface ApiRequest {
  readonly method: string;
  /** The path below /api/, split on '/'. */
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
  readonly call: HttpCall;
}

export interface ConsoleApiDeps {
  readonly coordinator: Coordinator;
  readonly security: Security;
  readonly clock: Clock;
  /** Link to a transaction's trace, `{traceId}` replaced; '' for none. */
  readonly traceUrl: string;
}

/** How long an operator's Abort may wait for a transaction decided elsewhere. */
const ABORT_WAIT_MS = 10_000;

/**
 * The console's JSON API: each route is an Operator method, admitted by the
 * security room under that method's name (authentication, the operator
 * role, the audit log), then served by the same code as the gRPC handler.
 * Answers use the protobuf JSON mapping of the Operator API's messages.
 * @returns the answer, or null when no route matches
 * @throws whatever the security room or the coordinator refuses with
 */
export async function serveApi(deps: ConsoleApiDeps, req: ApiRequest): Promise<unknown> {
  const { coordinator, security } = deps;
  const [first, id, action] = req.parts;
  const admit = async (method: string, txnId?: string) => {
    const admitted = await security.admit(method, req.call, () =>
      txnId === undefined ? {} : { txnId: parseTxId(txnId) },
    );
    return {
      admitted,
      done: <T>(work: Promise<T>): Promise<T> =>
        work.then(
          (value) => {
            security.finished(method, req.call, admitted, null);
            return value;
          },
          (err: unknown) => {
            security.finished(method, req.call, admitted, err);
            throw err;
          },
        ),
    };
  };
  if (req.method === 'GET' && first === 'session' && id === undefined) {
    const { admitted, done } = await admit('Console.SignIn');
    const { caller } = admitted;
    return done(
      Promise.resolve({
        principal: caller.principal,
        via: caller.via,
        roles: [...caller.roles],
        traceUrl: deps.traceUrl,
        stuckAfterMs: coordinator.stuckAfterMs,
      }),
    );
  }
  if (first !== 'transactions') {
    return null;
  }
  if (req.method === 'GET' && id === undefined) {
    const { done } = await admit('Operator.ListTransactions');
    const { request, participant } = listQuery(req.query);
    return done(
      listTransactions(coordinator, request, {
        tenant: request.tenant === '' ? null : request.tenant,
        participant,
      }),
    );
  }
  if (id === undefined) {
    return null;
  }
  if (req.method === 'GET' && action === undefined) {
    const { done } = await admit('Operator.GetTransaction', id);
    return done(coordinator.get(parseTxId(id)).then((view) => detail(deps, view)));
  }
  if (req.method !== 'POST') {
    return null;
  }
  switch (action) {
    case 'retry': {
      const { admitted, done } = await admit('Operator.RetryNow', id);
      return done(
        retryNow(coordinator, parseTxId(id), recordedPrincipal(admitted.caller)).then((view) =>
          detail(deps, view),
        ),
      );
    }
    case 'resolve': {
      const { admitted, done } = await admit('Operator.ResolveParticipant', id);
      return done(
        Promise.resolve().then(async () => {
          const view = await resolveParticipant(
            coordinator,
            parseTxId(id),
            parseName(text(req.body, 'participant'), 'participant'),
            outcomeOf(text(req.body, 'outcome')),
            parseReason(text(req.body, 'note'), 'note'),
            recordedPrincipal(admitted.caller),
          );
          return detail(deps, view);
        }),
      );
    }
    case 'abort': {
      const { admitted, done } = await admit('Operator.Abort', id);
      const { signal, dispose } = deadlineSignal(deps.clock, ABORT_WAIT_MS);
      return done(
        Promise.resolve()
          .then(() =>
            operatorAbort(
              coordinator,
              parseTxId(id),
              parseReason(text(req.body, 'reason')),
              recordedPrincipal(admitted.caller),
              signal,
            ),
          )
          .then(wireOutcomeResult)
          .finally(dispose),
      );
    }
    default:
      return null;
  }
}

/** A transaction as the console shows it: the Operator API's message, its timeline and trace link. */
function detail(deps: ConsoleApiDeps, view: TxView): unknown {
  // wireTransaction sets every field: it is the message a client receives.
  const tx = wireTransaction(view, deps.coordinator.stuckAfterMs) as Transaction__Output;
  return {
    transaction: tx,
    timeline: timeline(toView(tx)).map((e) => ({ at: e.at.toISOString(), text: e.text })),
    traceLink:
      deps.traceUrl === '' || tx.traceId === ''
        ? ''
        : deps.traceUrl.replaceAll('{traceId}', encodeURIComponent(tx.traceId)),
  };
}

/** A string field of a JSON body ('' when absent). @throws InvalidArgumentError */
function text(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) {
    return '';
  }
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(field, 'must be a string');
  }
  return value;
}

function outcomeOf(value: string): Outcome {
  switch (value) {
    case 'OUTCOME_COMMITTED':
    case 'COMMITTED':
      return Outcome.COMMITTED;
    case 'OUTCOME_ABORTED':
    case 'ABORTED':
      return Outcome.ABORTED;
    default:
      throw new InvalidArgumentError('outcome', 'must be OUTCOME_COMMITTED or OUTCOME_ABORTED');
  }
}
