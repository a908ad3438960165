import { recordedPrincipal } from '../auth/caller.ts';
import type { Security } from '../auth/security.ts';
import type { Coordinator } from '../coordinator/coordinator.ts';
import { operatorAbort, resolveParticipant, retryNow } from '../coordinator/operator-actions.ts';
import { InvalidArgumentError } from 'twopc/internal/contract/errors';
import { parseName, parseReason, parseTxId } from 'twopc/internal/contract/limits';
import { Outcome } from 'twopc/internal/contract/tx-state';
import type { Logger } from '../telemetry/logger.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { wireOutcomeResult, wireTransaction } from './codec.ts';
import type { OperatorHandlers } from 'twopc/internal/wire/generated/twopc/v1/Operator';
import { listTransactions } from './list-request.ts';
import { secureUnary, withDeadline } from './secure-unary.ts';

/**
 * The twopc.v1.Operator handlers: what operators do across tenants. Every
 * call is audited with its principal by the security room.
 */
export function operatorHandlers(
  coordinator: Coordinator,
  security: Security,
  clock: Clock,
  log: Logger,
): OperatorHandlers {
  const unary = secureUnary('Operator', security, log);
  return {
    ListTransactions: unary(
      'ListTransactions',
      () => ({}),
      (req, _call, { scope }) =>
        listTransactions(coordinator, req, {
          // An operator confined to a tenant lists that tenant only.
          tenant: scope.tenant ?? (req.tenant === '' ? null : req.tenant),
          participant: req.participant === '' ? null : parseName(req.participant, 'participant'),
        }),
    ),
    GetTransaction: unary(
      'GetTransaction',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req) =>
        wireTransaction(await coordinator.get(parseTxId(req.txnId)), coordinator.stuckAfterMs),
    ),
    Abort: unary(
      'Abort',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req, call, { caller }) => {
        const txnId = parseTxId(req.txnId);
        const reason = parseReason(req.reason);
        const result = await withDeadline(clock, call, Infinity, (s) =>
          operatorAbort(coordinator, txnId, reason, recordedPrincipal(caller), s),
        );
        return wireOutcomeResult(result);
      },
    ),
    RetryNow: unary(
      'RetryNow',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req, _call, { caller }) =>
        wireTransaction(
          await retryNow(coordinator, parseTxId(req.txnId), recordedPrincipal(caller)),
          coordinator.stuckAfterMs,
        ),
    ),
    ResolveParticipant: unary(
      'ResolveParticipant',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req, _call, { caller }) => {
        const txnId = parseTxId(req.txnId);
        const name = parseName(req.participant, 'participant');
        const outcome =
          req.outcome === 'OUTCOME_COMMITTED'
            ? Outcome.COMMITTED
            : req.outcome === 'OUTCOME_ABORTED'
              ? Outcome.ABORTED
              : null;
        if (outcome === null) {
          throw new InvalidArgumentError('outcome', 'must be OUTCOME_COMMITTED or OUTCOME_ABORTED');
        }
        const view = await resolveParticipant(
          coordinator,
          txnId,
          name,
          outcome,
          parseReason(req.note, 'note'),
          recordedPrincipal(caller),
        );
        return wireTransaction(view, coordinator.stuckAfterMs);
      },
    ),
  };
}
