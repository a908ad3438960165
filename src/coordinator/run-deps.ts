import type { HealthMonitor } from '../participant/health-monitor.ts';
import type { ParticipantClient } from '../participant/participant-client.ts';
import type { TransactionLog } from '../store/transaction-store.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { TwopcMetrics } from '../telemetry/metrics.ts';
import type { WarnLimiter } from '../telemetry/warn-limiter.ts';
import type { Clock } from 'twopc/internal/time/clock';
import type { BackoffPolicy } from 'twopc/internal/shared/backoff';

/** Timing rules of the protocol shell. */
export interface ProtocolConfig {
  /** How long a participant has to vote. */
  readonly prepareTimeoutMs: number;
  /** Deadline of each phase-2 call. */
  readonly callTimeoutMs: number;
  /** Phase-2 (and store) retry backoff. */
  readonly retry: BackoffPolicy;
  /** Commit a single participant in one phase. */
  readonly onePhase: boolean;
  /** Abort attempts to a participant that never voted before it is left to ask. */
  readonly abortAttempts: number;
  /** Send Prepare while the commit claim is written (transactions begun here). */
  readonly earlyPrepare: boolean;
  /**
   * Take the id a client made in Begin (one log only: a sharded log's ids
   * name their shard, so there the coordinator answers an id of its own).
   */
  readonly clientTxnIds?: boolean;
}

/** What a transaction run needs from the outside world. */
export interface RunDeps {
  readonly store: TransactionLog;
  readonly participants: ParticipantClient;
  /** Heartbeats to participants while the run waits on them. */
  readonly health: HealthMonitor;
  readonly clock: Clock;
  readonly config: ProtocolConfig;
  readonly log: Logger;
  readonly metrics: TwopcMetrics;
  /** Rate limit of warnings that a retry storm would repeat. */
  readonly warnings: WarnLimiter;
  readonly random: () => number;
  /** Aborted when the coordinator shuts down: runs stop and leave the rest to recovery. */
  readonly signal: AbortSignal;
}
