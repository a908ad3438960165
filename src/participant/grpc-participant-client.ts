import * as grpc from '@grpc/grpc-js';
import { ParticipantUnavailableError } from 'twopc/internal/contract/errors';
import { Outcome, Vote } from 'twopc/internal/contract/tx-state';
import { loadTwopcProto, toTimestamp } from 'twopc/internal/wire/proto';
import { deadlineIn } from 'twopc/internal/time/deadline-signal';
import type { Outcome__Output } from 'twopc/internal/wire/generated/twopc/v1/Outcome';
import type { ParticipantClient as ParticipantStub } from 'twopc/internal/wire/generated/twopc/v1/Participant';
import type { ParticipantAbortResponse__Output } from 'twopc/internal/wire/generated/twopc/v1/ParticipantAbortResponse';
import type { ParticipantCommitResponse__Output } from 'twopc/internal/wire/generated/twopc/v1/ParticipantCommitResponse';
import type { PrepareResponse__Output } from 'twopc/internal/wire/generated/twopc/v1/PrepareResponse';
import type {
  AckResult,
  ParticipantCall,
  ParticipantClient,
  PrepareResult,
} from './participant-client.ts';
import { liveStub } from './participant-channel.ts';

const VOTES: Record<string, Vote | undefined> = {
  VOTE_PREPARED: Vote.PREPARED,
  VOTE_READ_ONLY: Vote.READ_ONLY,
  VOTE_ABORT: Vote.ABORT,
};

/** Maps a participant-reported outcome; anything else is "unknown". */
export function fromWireOutcome(outcome: Outcome__Output): Outcome | null {
  if (outcome === 'OUTCOME_COMMITTED') {
    return Outcome.COMMITTED;
  }
  return outcome === 'OUTCOME_ABORTED' ? Outcome.ABORTED : null;
}

/** A vote as the coordinator records it (an unknown vote is an ABORT). */
export function toPrepareResult(res: PrepareResponse__Output): PrepareResult {
  const vote = VOTES[res.vote];
  if (vote === undefined) {
    return { vote: Vote.ABORT, reason: `invalid vote ${res.vote}` };
  }
  return { vote, reason: res.reason === '' ? null : res.reason };
}

/** A phase-2 answer as the coordinator records it. */
export function toAckResult(res: { outcome: Outcome__Output; reason?: string }): AckResult {
  const reason = res.reason ?? '';
  return { outcome: fromWireOutcome(res.outcome), reason: reason === '' ? null : reason };
}

/** The kind of a call whose connection was refused: nothing was sent. */
export const REFUSED = 'unreachable: connection refused';

/** Failures of the link itself (grpc-js words for them), told as kinds. */
const TRANSPORT: readonly (readonly [RegExp, string])[] = [
  [/ECONNREFUSED/, REFUSED],
  [
    /certificate|altnames|Hostname\/IP|SSL|TLS|handshake|self.signed/i,
    'unreachable: TLS handshake failed (certificate not trusted, or not for this endpoint, or not TLS)',
  ],
  [
    /HTTP status code|Protocol error|RST_STREAM|malformed|Bad Request/i,
    'protocol error: not a gRPC participant',
  ],
  [
    /ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|No connection established|Connection dropped|failed to connect/i,
    'unreachable',
  ],
];

/** What a failed call was, as the coordinator may tell it. */
export interface CallFailure {
  /** A kind (see failureKind), never the words of whatever answered. */
  readonly kind: string;
  /**
   * Whether the request provably never left: no connection was ever
   * established for it (refused, TLS handshake failed, not HTTP/2, or still
   * connecting when its deadline came). Anything else may have arrived.
   */
  readonly unsent: boolean;
}

/**
 * Whether grpc-js failed the call before it had a stream: nothing was
 * written. grpc-js (1.x) says so in two ways only. A pick that found no
 * connection fails an ordinary call with UNAVAILABLE "No connection
 * established. Last error: …" (the pick_first picker in TRANSIENT_FAILURE:
 * the TCP connect was refused, or the TLS handshake or the HTTP/2 settings
 * exchange failed, before any call was written); a deadline that came while
 * the call still waited for a connection reads "…,Waiting for LB pick". A
 * call that had a stream ("LB pick: …,remote_addr=…", "Connection dropped",
 * any status a server sent) may have been received, whatever followed.
 */
function neverWritten(err: { readonly code: grpc.status; readonly details: string }): boolean {
  if (err.code === grpc.status.UNAVAILABLE) {
    return err.details.startsWith('No connection established');
  }
  return err.code === grpc.status.DEADLINE_EXCEEDED && /,Waiting for LB pick$/.test(err.details);
}

/**
 * What went wrong with a call, as a kind: a failure of the link (refused,
 * TLS, protocol error, unreachable), no answer in time, or the name of the
 * status a participant answered with. Never the words of whatever answered
 * (a participant's or a library's text): what a client can read (a reason,
 * `last_error`) carries kinds only, and the coordinator is no oracle for
 * probing addresses. The words go to the operator's log (see remoteWords).
 */
export function failureKind(err: { readonly code: grpc.status; readonly details: string }): string {
  return callFailure(err).kind;
}

/** A failed call's kind, and whether it provably never left (see neverWritten). */
export function callFailure(err: {
  readonly code: grpc.status;
  readonly details: string;
}): CallFailure {
  const unsent = neverWritten(err);
  for (const [pattern, kind] of TRANSPORT) {
    if (pattern.test(err.details)) {
      return { kind, unsent };
    }
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED) {
    return {
      kind: unsent
        ? 'unreachable: no connection before the deadline'
        : 'no answer before the deadline',
      unsent,
    };
  }
  return { kind: grpc.status[err.code] ?? `status ${err.code}`, unsent };
}

/**
 * Calls participants over grpc-js: one cached channel per endpoint, a
 * deadline on every call.
 */
export class GrpcParticipantClient implements ParticipantClient {
  readonly #stubs = new Map<string, ParticipantStub>();
  readonly #credentials: grpc.ChannelCredentials;

  /** @param credentials TLS (checking each participant's certificate against the name dialled) or plaintext */
  constructor(credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    this.#credentials = credentials;
  }

  #stub(endpoint: string): ParticipantStub {
    const Ctor = loadTwopcProto().twopc.v1.Participant;
    return liveStub(
      this.#stubs,
      endpoint,
      (options) => new Ctor(endpoint, this.#credentials, options),
    );
  }

  #unary<Res>(
    call: ParticipantCall,
    what: string,
    invoke: (
      stub: ParticipantStub,
      req: object,
      md: grpc.Metadata,
      opts: grpc.CallOptions,
      cb: grpc.requestCallback<Res>,
    ) => unknown,
    fields: object,
  ): Promise<Res> {
    // Every participant request names the transaction and the participant.
    const req = { txnId: call.txnId, participantName: call.name, ...fields };
    const md = new grpc.Metadata();
    md.set('twopc-txn-id', call.txnId);
    for (const [key, value] of Object.entries(call.traceHeaders ?? {})) {
      md.set(key, value);
    }
    const deadline = deadlineIn(call.timeoutMs);
    return new Promise((resolve, reject) => {
      invoke(this.#stub(call.endpoint), req, md, { deadline }, (err, res) => {
        if (err !== null || res === undefined) {
          const failure = err === null ? { kind: 'empty answer', unsent: false } : callFailure(err);
          reject(
            new ParticipantUnavailableError(
              call.name,
              `${what} ${failure.unsent ? 'not sent' : 'failed'} (${failure.kind})`,
              err,
              !failure.unsent,
              err?.details ?? null,
            ),
          );
        } else {
          resolve(res);
        }
      });
    });
  }

  async prepare(call: ParticipantCall): Promise<PrepareResult> {
    const deadline = toTimestamp(deadlineIn(call.timeoutMs));
    const res = await this.#unary<PrepareResponse__Output>(
      call,
      'Prepare',
      (s, r, m, o, cb) => s.prepare(r, m, o, cb),
      { deadline },
    );
    return toPrepareResult(res);
  }

  async commit(call: ParticipantCall, onePhase: boolean): Promise<AckResult> {
    const res = await this.#unary<ParticipantCommitResponse__Output>(
      call,
      'Commit',
      (s, r, m, o, cb) => s.commit(r, m, o, cb),
      { onePhase },
    );
    return toAckResult(res);
  }

  async abort(call: ParticipantCall, reason: string): Promise<AckResult> {
    const res = await this.#unary<ParticipantAbortResponse__Output>(
      call,
      'Abort',
      (s, r, m, o, cb) => s.abort(r, m, o, cb),
      { reason },
    );
    return { ...toAckResult(res), reason: null };
  }

  close(): void {
    for (const stub of this.#stubs.values()) {
      stub.close();
    }
    this.#stubs.clear();
  }
}
