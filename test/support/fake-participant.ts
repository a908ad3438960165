import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { loadTwopcProto } from '../../src/grpc/proto.ts';
import type { ParticipantHandlers } from '../../src/grpc/generated/twopc/v1/Participant.ts';

/** One call a participant received; `seq` orders calls across every fake. */
export interface RecordedCall {
  readonly method: 'Prepare' | 'Commit' | 'Abort';
  readonly txnId: string;
  readonly onePhase: boolean;
  readonly seq: number;
  readonly metadata: grpc.Metadata;
  /** The SAN of the caller's client certificate (mutual TLS), if any. */
  readonly peerSan?: string | null;
}

export interface FakeBehaviour {
  /** The vote, or 'hang' (never answers Prepare). */
  vote?: 'PREPARED' | 'READ_ONLY' | 'ABORT' | 'hang';
  abortReason?: string;
  /** Commit calls that fail with UNAVAILABLE before one succeeds. */
  failCommitTimes?: number;
  /** Abort calls that fail with UNAVAILABLE before one succeeds. */
  failAbortTimes?: number;
  /** Delay before answering Prepare (ms). */
  prepareDelayMs?: number;
  /** Outcome reported for phase-2 calls (default: the message's own outcome). */
  reportOutcome?: 'OUTCOME_COMMITTED' | 'OUTCOME_ABORTED' | 'OUTCOME_UNSPECIFIED';
}

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
    method: RecordedCall['method'],
    call: grpc.ServerUnaryCall<{ txnId: string; onePhase?: boolean }, unknown>,
  ): void {
    const c = {
      method,
      txnId: call.request.txnId,
      onePhase: call.request.onePhase ?? false,
      seq: ++globalSeq,
      metadata: call.metadata,
      peerSan: call.getAuthContext().sslPeerCertificate?.subjectaltname ?? null,
    };
    this.calls.push(c);
    this.emit('call', c);
  }

  #handlers(): ParticipantHandlers {
    const b = (): FakeBehaviour => this.behaviour;
    return {
      Prepare: (call, cb) => {
        this.#record('Prepare', call);
        const vote = b().vote ?? 'PREPARED';
        if (vote === 'hang') {
          return;
        }
        setTimeout(
          () =>
            cb(null, {
              vote: `VOTE_${vote}`,
              reason: vote === 'ABORT' ? (b().abortReason ?? 'no') : '',
            }),
          b().prepareDelayMs ?? 0,
        );
      },
      Commit: (call, cb) => {
        this.#record('Commit', call);
        if (this.#commitFailures < (b().failCommitTimes ?? 0)) {
          this.#commitFailures++;
          cb({ code: grpc.status.UNAVAILABLE, details: 'injected commit failure' });
          return;
        }
        cb(null, { outcome: b().reportOutcome ?? 'OUTCOME_COMMITTED', reason: '' });
      },
      Abort: (call, cb) => {
        this.#record('Abort', call);
        if (this.#abortFailures < (b().failAbortTimes ?? 0)) {
          this.#abortFailures++;
          cb({ code: grpc.status.UNAVAILABLE, details: 'injected abort failure' });
          return;
        }
        cb(null, { outcome: b().reportOutcome ?? 'OUTCOME_ABORTED' });
      },
    };
  }

  /** Binds on 127.0.0.1 (the same port again after a stop, if it had one), plaintext or with `credentials`. */
  async start(credentials = grpc.ServerCredentials.createInsecure()): Promise<this> {
    const server = new grpc.Server();
    server.addService(loadTwopcProto().twopc.v1.Participant.service, this.#handlers());
    new HealthImplementation({ '': 'SERVING' }).addToServer(server);
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.#port}`, credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.#server = server;
    return this;
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
  ): Promise<FakeParticipant> {
    const f = await new FakeParticipant(name, behaviour).start(credentials);
    this.#fakes.push(f);
    return f;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.#fakes.splice(0).map((f) => f.stop()));
  }
}
