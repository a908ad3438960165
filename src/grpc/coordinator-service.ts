import type * as grpc from '@grpc/grpc-js';
import type { Coordinator } from '../coordinator/coordinator.ts';
import { resolveParticipant, retryNow } from '../coordinator/operator-actions.ts';
import { InvalidArgumentError, TwopcError } from '../core/errors.ts';
import {
  LIMITS,
  parseEndpoint,
  parseLabels,
  parseName,
  parseReason,
  parseTxId,
} from '../core/limits.ts';
import { Outcome } from '../core/tx-state.ts';
import type { TxState } from '../core/tx-state.ts';
import type { Logger } from '../telemetry/logger.ts';
import { contextFromMetadata } from '../telemetry/tracing.ts';
import type { Clock } from '../time/clock.ts';
import { deadlineSignal, msUntil } from '../time/deadline-signal.ts';
import { coreState, wireOutcomeResult, wireState, wireTransaction } from './codec.ts';
import type { CoordinatorHandlers } from './generated/twopc/v1/Coordinator.ts';
import type { ParticipantRef__Output } from './generated/twopc/v1/ParticipantRef.ts';
import { toTimestamp } from './proto.ts';
import { toStatus } from './status-mapping.ts';

/** How long Commit with wait_for_acks waits when the call has no deadline. */
const ACK_WAIT_DEFAULT_MS = 30_000;
/** Answer this long before the caller's deadline, so it gets our answer, not grpc's. */
const DEADLINE_MARGIN_MS = 100;

type Unary<Req, Res> = (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>;

/**
 * The twopc.v1.Coordinator handlers: decode and validate, call the
 * coordinator, encode. No protocol logic lives here.
 */
export function coordinatorHandlers(
  coordinator: Coordinator,
  clock: Clock,
  log: Logger,
): CoordinatorHandlers {
  function unary<Req, Res>(method: string, fn: Unary<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      fn(call.request, call).then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (!(err instanceof TwopcError)) {
            log.error({ err, method }, 'unexpected error');
          }
          callback(toStatus(err));
        },
      );
    };
  }

  function remainingMs(call: grpc.ServerUnaryCall<unknown, unknown>, fallback: number): number {
    const left = msUntil(call.getDeadline());
    return Number.isFinite(left) ? left - DEADLINE_MARGIN_MS : fallback;
  }

  async function withDeadline<T>(
    call: grpc.ServerUnaryCall<unknown, unknown>,
    fallback: number,
    fn: (s: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const cancelled = new AbortController();
    const onCancelled = (): void => cancelled.abort();
    call.once('cancelled', onCancelled);
    const { signal, dispose } = deadlineSignal(
      clock,
      remainingMs(call, fallback),
      cancelled.signal,
    );
    try {
      return await fn(signal);
    } finally {
      dispose();
      // grpc-js also reports a call that ended normally as cancelled.
      call.off('cancelled', onCancelled);
    }
  }

  return {
    Begin: unary('Begin', async (req, call) => {
      const participants = parseParticipants(req.participants);
      const labels = parseLabels(req.labels);
      const { txnId, leaseExpiresAt } = await coordinator.begin(
        { timeoutMs: req.timeoutMs, labels, participants },
        contextFromMetadata(call.metadata),
      );
      return { txnId, leaseExpiresAt: toTimestamp(leaseExpiresAt) };
    }),
    Enlist: unary('Enlist', async (req) => {
      const txnId = parseTxId(req.txnId);
      if (req.participant === null) {
        throw new InvalidArgumentError('participant', 'is required ({name, endpoint})');
      }
      const name = parseName(req.participant.name);
      const endpoint = parseEndpoint(req.participant.endpoint);
      const res = await coordinator.enlist(txnId, name, endpoint);
      return { newlyEnlisted: res.newlyEnlisted, leaseExpiresAt: toTimestamp(res.leaseExpiresAt) };
    }),
    Heartbeat: unary('Heartbeat', async (req) => {
      const res = await coordinator.heartbeat(parseTxId(req.txnId), req.extendMs);
      return { state: wireState(res.state), leaseExpiresAt: toTimestamp(res.leaseExpiresAt) };
    }),
    Commit: unary('Commit', async (req, call) => {
      const txnId = parseTxId(req.txnId);
      const fallback = req.waitForAcks ? ACK_WAIT_DEFAULT_MS : Infinity;
      const result = await withDeadline(call, fallback, (s) =>
        coordinator.commit(txnId, req.waitForAcks, s),
      );
      return wireOutcomeResult(result);
    }),
    Abort: unary('Abort', async (req, call) => {
      const txnId = parseTxId(req.txnId);
      const reason = parseReason(req.reason);
      const result = await withDeadline(call, Infinity, (s) => coordinator.abort(txnId, reason, s));
      return wireOutcomeResult(result);
    }),
    GetTransaction: unary('GetTransaction', async (req) => {
      return wireTransaction(await coordinator.get(parseTxId(req.txnId)), coordinator.stuckAfterMs);
    }),
    RetryNow: unary('RetryNow', async (req) => {
      return wireTransaction(
        await retryNow(coordinator, parseTxId(req.txnId)),
        coordinator.stuckAfterMs,
      );
    }),
    ResolveParticipant: unary('ResolveParticipant', async (req) => {
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
      );
      return wireTransaction(view, coordinator.stuckAfterMs);
    }),
    ListTransactions: unary('ListTransactions', async (req) => {
      const states = req.states.map((s) => {
        const state = coreState(s);
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
      const after = parsePageToken(req.pageToken);
      const filter = {
        stuckOnly: req.stuckOnly,
        heuristicOnly: req.heuristicOnly,
        labels: parseLabels(req.labels),
      };
      const rows = await coordinator.list({
        states: states as TxState[],
        minAgeSeconds: req.minAgeSeconds,
        limit: limit + 1,
        after,
        ...filter,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const more = rows.length > limit && last !== undefined;
      return {
        transactions: page.map((t) => wireTransaction(t, coordinator.stuckAfterMs)),
        nextPageToken: more ? encodePageToken(last.createdAt, last.txnId) : '',
      };
    }),
  };
}

function parseParticipants(refs: ParticipantRef__Output[]): { name: string; endpoint: string }[] {
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
