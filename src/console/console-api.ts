import type { Admitted, Security } from '../auth/security.ts';
import { recordedPrincipal } from '../auth/caller.ts';
import type { Coordinator } from '../coordinator/coordinator.ts';
import { operatorAbort, resolveParticipant, retryNow } from '../coordinator/operator-actions.ts';
import { InvalidArgumentError } from 'twopc/internal/contract/errors';
import { parseName, parseReason, parseTxId } from 'twopc/internal/contract/limits';
import { Outcome } from 'twopc/internal/contract/tx-state';
import { timeline } from '../shared/timeline.ts';
import { wireOutcomeResult, wireTransaction } from '../grpc/codec.ts';
import type { Transaction__Output } from 'twopc/internal/wire/generated/twopc/v1/Transaction';
import { listTransactions } from '../grpc/list-request.ts';
import { toView } from 'twopc/internal/twopc-client';
import type { Clock } from 'twopc/internal/time/clock';
import type { TxView } from '../store/transaction-store.ts';
import { deadlineSignal } from 'twopc/internal/time/deadline-signal';
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

/** An admitted route's work. */
type Run = (
  deps: ConsoleApiDeps,
  req: ApiRequest,
  admitted: Admitted,
  id: string,
) => Promise<unknown>;

/** A route: the Operator method it is admitted as, the transaction it names, its work. */
interface Route {
  readonly method: string;
  readonly id: string;
  readonly run: Run;
}

const session: Run = async ({ coordinator, traceUrl }, _req, { caller }) => ({
  principal: caller.principal,
  via: caller.via,
  roles: [...caller.roles],
  traceUrl,
  stuckAfterMs: coordinator.stuckAfterMs,
});

const list: Run = async ({ coordinator }, req, { scope }) => {
  const { request, participant } = listQuery(req.query);
  return listTransactions(coordinator, request, {
    // An operator confined to a tenant lists that tenant only.
    tenant: scope.tenant ?? (request.tenant === '' ? null : request.tenant),
    participant,
  });
};

const show: Run = async (deps, _req, _admitted, id) =>
  detail(deps, await deps.coordinator.get(parseTxId(id)));

/** The actions, by the last part of their path (POST /api/transactions/<id>/<action>). */
const ACTIONS: Readonly<Record<string, { method: string; run: Run }>> = {
  retry: {
    method: 'Operator.RetryNow',
    run: async (deps, _req, { caller }, id) =>
      detail(deps, await retryNow(deps.coordinator, parseTxId(id), recordedPrincipal(caller))),
  },
  resolve: {
    method: 'Operator.ResolveParticipant',
    run: async (deps, { body }, { caller }, id) =>
      detail(
        deps,
        await resolveParticipant(
          deps.coordinator,
          parseTxId(id),
          parseName(text(body, 'participant'), 'participant'),
          outcomeOf(text(body, 'outcome')),
          parseReason(text(body, 'note'), 'note'),
          recordedPrincipal(caller),
        ),
      ),
  },
  abort: {
    method: 'Operator.Abort',
    run: async (deps, { body }, { caller }, id) => {
      const { signal, dispose } = deadlineSignal(deps.clock, ABORT_WAIT_MS);
      try {
        const reason = parseReason(text(body, 'reason'));
        return wireOutcomeResult(
          await operatorAbort(
            deps.coordinator,
            parseTxId(id),
            reason,
            recordedPrincipal(caller),
            signal,
          ),
        );
      } finally {
        dispose();
      }
    },
  },
};

/** The route a request asks for, or null. */
function routeOf(req: ApiRequest): Route | null {
  const [first, id, action, ...rest] = req.parts;
  if (rest.length > 0) {
    return null;
  }
  if (req.method === 'GET' && first === 'session' && id === undefined) {
    return { method: 'Console.SignIn', id: '', run: session };
  }
  if (first !== 'transactions') {
    return null;
  }
  if (req.method === 'GET' && action === undefined) {
    return id === undefined
      ? { method: 'Operator.ListTransactions', id: '', run: list }
      : { method: 'Operator.GetTransaction', id, run: show };
  }
  const act = action === undefined ? undefined : ACTIONS[action];
  return req.method === 'POST' && id !== undefined && act !== undefined ? { ...act, id } : null;
}

/**
 * The console's JSON API: each route is an Operator method, admitted by the
 * security room under that method's name (authentication, the operator
 * role, the tenant, the audit log), then served by the same code as the
 * gRPC handler. Answers use the protobuf JSON mapping of the Operator
 * API's messages.
 * @returns the answer, or null when no route matches
 * @throws whatever the security room or the coordinator refuses with
 */
export async function serveApi(deps: ConsoleApiDeps, req: ApiRequest): Promise<unknown> {
  const route = routeOf(req);
  if (route === null) {
    return null;
  }
  const { security } = deps;
  const admitted = await security.admit(route.method, req.call, () =>
    route.id === '' ? {} : { txnId: parseTxId(route.id) },
  );
  try {
    const answer = await route.run(deps, req, admitted, route.id);
    security.finished(route.method, req.call, admitted, null);
    return answer;
  } catch (err) {
    security.finished(route.method, req.call, admitted, err);
    throw err;
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
