import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import type { ParticipantHandlers } from 'twopc/internal/wire/generated/twopc/v1/Participant';
import type { ExchangeRequest__Output } from 'twopc/internal/wire/generated/twopc/v1/ExchangeRequest';
import type { ExchangeResponse } from 'twopc/internal/wire/generated/twopc/v1/ExchangeResponse';

/** One call a participant received; `seq` orders calls across every fake. */
export interface RecordedCall {
  readonly method: 'Prepare' | 'Commit' | 'Abort';
  readonly txnId: string;
  readonly onePhase: boolean;
  readonly seq: number;
  readonly metadata: grpc.Metadata;
  /** The SAN of the caller's client certificate (mutual TLS), if any. */
  readonly peerSan?: string | null;
  /** How it came: a unary call, or one call of a batch on the Exchange stream. */
  readonly transport: 'unary' | 'batched';
  /** Calls in the message it came in (1 for unary). */
  readonly batchSize: number;
}

export interface FakeBehaviour {
  /** The vote, or 'hang' (never answers Prepare). */
  vote?: 'PREPARED' | 'READ_ONLY' | 'ABORT' | 'hang';
  abortReason?: string;
  /** The reason sent with a PREPARED or READ_ONLY vote (text as a participant may send it). */
  prepareReason?: string;
  /** Commit calls that fail with UNAVAILABLE before one succeeds. */
  failCommitTimes?: number;
  /** Never answers Commit (it arrived: whether it landed, only this participant knows). */
  hangCommit?: boolean;
  /** The words of an injected Commit/Abort failure. */
  failureDetails?: string;
  /** Abort calls that fail with UNAVAILABLE before one succeeds. */
  failAbortTimes?: number;
  /** Delay before answering Prepare (ms). */
  prepareDelayMs?: number;
  /** Outcome reported for phase-2 calls (default: the message's own outcome). */
  reportOutcome?: 'OUTCOME_COMMITTED' | 'OUTCOME_ABORTED' | 'OUTCOME_UNSPECIFIED';
}

/** What a handler answers: a response, a failure status, or nothing ever. */
type Answer = { ok: object } | { err: { code: grpc.status; details: string } } | 'hang';

type Method = RecordedCall['method'];
const KIND: Record<Method, 'prepare' | 'commit' | 'abort'> = {
  Prepare: 'prepare',
  Commit: 'commit',
  Abort: 'abort',
};

let globalSeq = 0;

/**
 * A participant written against the proto alone, on a real gRPC server on
 * loopback: it records every call and behaves as told.
 */
export class FakeParticipant extends EventEmitter {
  readonly name: string;
  readonly calls: RecordedCall[] = [];
  behaviour: FakeBehaviour;
  #server: grpc.Server | null = null;
  #port = 0;
  #commitFailures = 0;
  #abortFailures = 0;
  #health: HealthImplementation | null = null;

  constructor(name: string, behaviour: FakeBehaviour = {}) {
    super();
    this.name = name;
    this.behaviour = behaviour;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get ref(): { name: string; endpoint: string } {
    return { name: this.name, endpoint: this.endpoint };
  }

  /** Calls of one method (optionally for one transaction). */
  callsOf(method: RecordedCall['method'], txnId?: string): RecordedCall[] {
    return this.calls.filter(
      (c) => c.method === method && (txnId === undefined || c.txnId === txnId),
    );
  }

  /** Resolves when a call matching `pred` has been recorded. */
  waitFor(pred: (c: RecordedCall) => boolean, timeoutMs = 10_000): Promise<RecordedCall> {
    const found = this.calls.find(pred);
    if (found !== undefined) {
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no matching call within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onCall = (c: RecordedCall): void => {
        if (pred(c)) {
          clearTimeout(timer);
          this.off('call', onCall);
          resolve(c);
        }
      };
      this.on('call', onCall);
    });
  }

  #record(
    method: Method,
    request: { txnId: string; onePhase?: boolean },
    metadata: grpc.Metadata,
    peerSan: string | null,
    transport: 'unary' | 'batched',
    batchSize: number,
  ): void {
    const c: RecordedCall = {
      method,
      txnId: request.txnId,
      onePhase: request.onePhase ?? false,
      seq: ++globalSeq,
      metadata,
      peerSan,
      transport,
      batchSize,
    };
    this.calls.push(c);
    this.emit('call', c);
  }

  async #answer(method: Method): Promise<Answer> {
    const b = this.behaviour;
    switch (method) {
      case 'Prepare': {
        const vote = b.vote ?? 'PREPARED';
        if (vote === 'hang') {
          return 'hang';
        }
        await new Promise((r) => setTimeout(r, b.prepareDelayMs ?? 0));
        return {
          ok: {
            vote: `VOTE_${vote}`,
            reason: vote === 'ABORT' ? (b.abortReason ?? 'no') : (b.prepareReason ?? ''),
          },
        };
      }
      case 'Commit':
        if (b.hangCommit === true) {
          return 'hang';
        }
        if (this.#commitFailures < (b.failCommitTimes ?? 0)) {
          this.#commitFailures++;
          return {
            err: {
              code: grpc.status.UNAVAILABLE,
              details: b.failureDetails ?? 'injected commit failure',
            },
          };
        }
        return {
          ok: {
            outcome: b.reportOutcome ?? 'OUTCOME_COMMITTED',
            reason: b.reportOutcome === 'OUTCOME_ABORTED' ? (b.abortReason ?? '') : '',
          },
        };
      case 'Abort':
        if (this.#abortFailures < (b.failAbortTimes ?? 0)) {
          this.#abortFailures++;
          return { err: { code: grpc.status.UNAVAILABLE, details: 'injected abort failure' } };
        }
        return { ok: { outcome: b.reportOutcome ?? 'OUTCOME_ABORTED' } };
    }
  }

  #handlers(): ParticipantHandlers {
    const unary =
      (method: Method): grpc.handleUnaryCall<{ txnId: string; onePhase?: boolean }, object> =>
      (call, cb) => {
        const san = call.getAuthContext().sslPeerCertificate?.subjectaltname ?? null;
        this.#record(method, call.request, call.metadata, san, 'unary', 1);
        void this.#answer(method).then((a) => {
          if (a !== 'hang') {
            if ('err' in a) {
              cb(a.err);
            } else {
              cb(null, a.ok);
            }
          }
        });
      };
    return { Prepare: unary('Prepare'), Commit: unary('Commit'), Abort: unary('Abort') };
  }

  /** twopc.v1.BatchedParticipant, answering each call of a batch on its own. */
  #exchange(): grpc.handleBidiStreamingCall<ExchangeRequest__Output, ExchangeResponse> {
    return (stream) => {
      const san = stream.getAuthContext().sslPeerCertificate?.subjectaltname ?? null;
      stream.on('data', (batch: ExchangeRequest__Output) => {
        if (batch.calls.length === 0) {
          stream.write({ answers: [] });
        }
        for (const call of batch.calls) {
          const kind = call.call ?? 'prepare';
          const method = (Object.keys(KIND) as Method[]).find((m) => KIND[m] === kind) ?? 'Prepare';
          const metadata = new grpc.Metadata();
          for (const [k, v] of Object.entries(call.traceContext)) {
            metadata.set(k, v);
          }
          const request = call[kind] ?? { txnId: '' };
          this.#record(method, request, metadata, san, 'batched', batch.calls.length);
          void this.#answer(method).then((a) => {
            if (a === 'hang' || stream.destroyed) {
              return;
            }
            stream.write({
              answers: [
                'err' in a
                  ? { id: call.id, error: { code: a.err.code, message: a.err.details } }
                  : { id: call.id, [kind]: a.ok },
              ],
            });
          });
        }
      });
      stream.on('end', () => stream.end());
      stream.on('error', () => undefined);
    };
  }

  /**
   * Binds on 127.0.0.1 (`port`, else the same port again after a stop, if
   * it had one), plaintext or with `credentials`; `batched` also serves
   * twopc.v1.BatchedParticipant.
   */
  async start(
    credentials = grpc.ServerCredentials.createInsecure(),
    batched = false,
    port = 0,
  ): Promise<this> {
    if (port !== 0) {
      this.#port = port;
    }
    const server = new grpc.Server();
    const proto = loadTwopcProto().twopc.v1;
    server.addService(proto.Participant.service, this.#handlers());
    if (batched) {
      server.addService(proto.BatchedParticipant.service, { Exchange: this.#exchange() });
    }
    this.#health = new HealthImplementation({ '': 'SERVING' });
    this.#health.addToServer(server);
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.#port}`, credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.#server = server;
    return this;
  }

  /** What its health service answers from now on (a participant shutting down says NOT_SERVING). */
  setServing(serving: boolean): void {
    this.#health?.setStatus('', serving ? 'SERVING' : 'NOT_SERVING');
  }

  async stop(): Promise<void> {
    this.#server?.forceShutdown();
    this.#server = null;
  }
}

/** The fake participants of a test file: started on demand, all stopped together. */
export class FakeFleet {
  readonly #fakes: FakeParticipant[] = [];

  /** Starts a fake participant that stopAll() will stop. */
  async start(
    name: string,
    behaviour: FakeBehaviour = {},
    credentials?: grpc.ServerCredentials,
    batched = false,
  ): Promise<FakeParticipant> {
    const f = await new FakeParticipant(name, behaviour).start(credentials, batched);
    this.#fakes.push(f);
    return f;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.#fakes.splice(0).map((f) => f.stop()));
  }
}
