import { recordedPrincipal } from '../auth/caller.ts';
import type { Security } from '../auth/security.ts';
import type { Coordinator } from '../coordinator/coordinator.ts';
import { InvalidArgumentError, TxNotFoundError } from 'twopc/internal/contract/errors';
import { parseClientTxnId } from 'twopc/internal/contract/client-txn-id';
import {
  LIMITS,
  parseEndpoint,
  parseLabels,
  parseName,
  parseReason,
  parseTxId,
} from 'twopc/internal/contract/limits';
import type { Logger } from '../telemetry/logger.ts';
import { contextFromMetadata } from 'twopc/internal/telemetry/tracing';
import type { Clock } from 'twopc/internal/time/clock';
import { wireOutcomeResult, wireState, wireTransaction } from './codec.ts';
import type { CoordinatorHandlers } from 'twopc/internal/wire/generated/twopc/v1/Coordinator';
import type { ParticipantRef__Output } from 'twopc/internal/wire/generated/twopc/v1/ParticipantRef';
import { listTransactions } from './list-request.ts';
import { toTimestamp } from 'twopc/internal/wire/proto';
import { secureUnary, withDeadline } from './secure-unary.ts';
import type { UnaryFactory } from './secure-unary.ts';

/** How long Commit with wait_for_acks waits when the call has no deadline. */
const ACK_WAIT_DEFAULT_MS = 30_000;

/**
 * The twopc.v1.Coordinator handlers: decode and validate, call the
 * coordinator, encode. No protocol logic and no security checks live here:
 * each handler states what its request names, and the security room
 * decides before it runs.
 */
export function coordinatorHandlers(
  coordinator: Coordinator,
  security: Security,
  clock: Clock,
  log: Logger,
): CoordinatorHandlers {
  const unary = secureUnary('Coordinator', security, log);
  /**
   * A call that names a transaction: one that a client-made id names
   * before its Begin's row is written (the client passed the id on while
   * Begin was under way) waits briefly for the row, is admitted again (the
   * tenant and enlistment checks now see the row) and runs again.
   */
  const naming: UnaryFactory = (method, facts, fn) =>
    unary(method, facts, async (req, call, admitted) => {
      try {
        return await fn(req, call, admitted);
      } catch (err) {
        const txnId = (req as { txnId?: unknown }).txnId;
        if (
          !(err instanceof TxNotFoundError) ||
          typeof txnId !== 'string' ||
          !(await coordinator.awaitRow(parseTxId(txnId)))
        ) {
          throw err;
        }
        return fn(req, call, await security.admit(`Coordinator.${method}`, call, () => facts(req)));
      }
    });
  return {
    Begin: unary(
      'Begin',
      (req) => {
        parseClientTxnId(req.txnId); // a malformed id fails before the caps count it
        return { participants: parseParticipants(req.participants), opens: true };
      },
      async (req, call, admitted) => {
        const { txnId, leaseExpiresAt } = await coordinator.begin(
          {
            txnId: parseClientTxnId(req.txnId),
            timeoutMs: req.timeoutMs,
            labels: parseLabels(req.labels),
            participants: admitted.facts.participants ?? [],
            tenant: admitted.caller.tenant,
            principal: recordedPrincipal(admitted.caller),
          },
          contextFromMetadata(call.metadata),
        );
        security.began(txnId, admitted);
        return { txnId, leaseExpiresAt: toTimestamp(leaseExpiresAt) };
      },
    ),
    Enlist: naming(
      'Enlist',
      (req) => {
        const txnId = parseTxId(req.txnId);
        if (req.participant === null) {
          throw new InvalidArgumentError('participant', 'is required ({name, endpoint})');
        }
        const name = parseName(req.participant.name);
        const endpoint = parseEndpoint(req.participant.endpoint);
        return { txnId, enlistAs: name, participants: [{ name, endpoint }] };
      },
      async (_req, _call, { facts }) => {
        const [p] = facts.participants ?? [];
        if (p === undefined || facts.txnId === undefined) {
          throw new Error('Enlist facts lost their participant');
        }
        const res = await coordinator.enlist(facts.txnId, p.name, p.endpoint);
        return {
          newlyEnlisted: res.newlyEnlisted,
          leaseExpiresAt: toTimestamp(res.leaseExpiresAt),
        };
      },
    ),
    Heartbeat: naming(
      'Heartbeat',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req) => {
        const res = await coordinator.heartbeat(parseTxId(req.txnId), req.extendMs);
        return { state: wireState(res.state), leaseExpiresAt: toTimestamp(res.leaseExpiresAt) };
      },
    ),
    Commit: naming(
      'Commit',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req, call) => {
        const txnId = parseTxId(req.txnId);
        const fallback = req.waitForAcks ? ACK_WAIT_DEFAULT_MS : Infinity;
        const result = await withDeadline(clock, call, fallback, (s) =>
          coordinator.commit(txnId, req.waitForAcks, s),
        );
        return wireOutcomeResult(result);
      },
    ),
    Abort: naming(
      'Abort',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req, call) => {
        const txnId = parseTxId(req.txnId);
        const reason = parseReason(req.reason);
        const result = await withDeadline(clock, call, Infinity, (s) =>
          coordinator.abort(txnId, reason, s),
        );
        return wireOutcomeResult(result);
      },
    ),
    GetTransaction: naming(
      'GetTransaction',
      (req) => ({ txnId: parseTxId(req.txnId) }),
      async (req) =>
        wireTransaction(await coordinator.get(parseTxId(req.txnId)), coordinator.stuckAfterMs),
    ),
    ListTransactions: unary(
      'ListTransactions',
      () => ({}),
      (req, _call, { scope }) => listTransactions(coordinator, req, scope),
    ),
  };
}

/** Checks Begin's participants. @throws InvalidArgumentError */
export function parseParticipants(
  refs: ParticipantRef__Output[],
): { name: string; endpoint: string }[] {
  if (refs.length > LIMITS.PARTICIPANTS_MAX) {
    throw new InvalidArgumentError(
      'participants',
      `has ${refs.length} entries; the limit is ${LIMITS.PARTICIPANTS_MAX}`,
    );
  }
  const seen = new Set<string>();
  return refs.map((ref, i) => {
    const name = parseName(ref.name, `participants[${i}].name`);
    if (seen.has(name)) {
      throw new InvalidArgumentError(`participants[${i}].name`, `'${name}' appears twice`);
    }
    seen.add(name);
    return { name, endpoint: parseEndpoint(ref.endpoint, `participants[${i}].endpoint`) };
  });
}
