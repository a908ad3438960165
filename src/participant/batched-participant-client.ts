import * as grpc from '@grpc/grpc-js';
import { ParticipantUnavailableError } from '../core/errors.ts';
import type { BatchedParticipantClient as BatchedStub } from '../grpc/generated/twopc/v1/BatchedParticipant.ts';
import type { ExchangeRequest } from '../grpc/generated/twopc/v1/ExchangeRequest.ts';
import type { ExchangeResponse__Output } from '../grpc/generated/twopc/v1/ExchangeResponse.ts';
import type { PhaseAnswer__Output } from '../grpc/generated/twopc/v1/PhaseAnswer.ts';
import type { PhaseCall } from '../grpc/generated/twopc/v1/PhaseCall.ts';
import { loadTwopcProto, toTimestamp } from '../grpc/proto.ts';
import { deadlineIn } from '../time/deadline-signal.ts';
import {
  GrpcParticipantClient,
  PARTICIPANT_CHANNEL,
  failureKind,
  toAckResult,
  toPrepareResult,
} from './grpc-participant-client.ts';
import type {
  AckResult,
  ParticipantCall,
  ParticipantClient,
  PrepareResult,
} from './participant-client.ts';

type Kind = 'prepare' | 'commit' | 'abort';
const WHAT: Record<Kind, string> = { prepare: 'Prepare', commit: 'Commit', abort: 'Abort' };

export interface BatchingOptions {
  /** Calls in one message at most (default 256). */
  readonly maxCalls?: number;
  /**
   * An endpoint that answered UNIMPLEMENTED is called unary for this long
   * before the stream is offered again: a participant upgraded in place
   * gets batches without a coordinator restart (ms, default 60 s).
   */
  readonly reofferMs?: number;
  /** After a stream failed, calls go unary for this long before another is opened (ms, default 1 s). */
  readonly reopenMs?: number;
}

interface Pending {
  readonly kind: Kind;
  readonly name: string;
  readonly timer: NodeJS.Timeout;
  resolve(answer: PhaseAnswer__Output): void;
  reject(err: Error): void;
}

type Status = { readonly code: grpc.status; readonly details: string };

/**
 * The batched channel to one participant endpoint: one Exchange stream,
 * opened on first use and used once the participant answered its opening.
 * Calls made in one turn of the event loop leave in one message; each has
 * its own id, deadline and trace context, and is answered (or fails) on its
 * own. Until the stream is ready, and for a while after it failed or was
 * refused, the caller goes unary.
 */
class PhaseLink {
  readonly #stub: BatchedStub;
  readonly #maxCalls: number;
  readonly #reofferMs: number;
  readonly #reopenMs: number;
  #state: 'closed' | 'opening' | 'open' | 'refused' = 'closed';
  #retryAt = 0;
  #stream: grpc.ClientDuplexStream<ExchangeRequest, ExchangeResponse__Output> | null = null;
  readonly #pending = new Map<number, Pending>();
  #outbox: PhaseCall[] = [];
  #flushScheduled = false;
  #blocked = false;
  #nextId = 0;

  constructor(stub: BatchedStub, options: BatchingOptions) {
    this.#stub = stub;
    this.#maxCalls = options.maxCalls ?? 256;
    this.#reofferMs = options.reofferMs ?? 60_000;
    this.#reopenMs = options.reopenMs ?? 1_000;
  }

  /** What the link does now: batched, or unary while opening, refused or failed. */
  get mode(): 'batched' | 'unary' {
    return this.#state === 'open' ? 'batched' : 'unary';
  }

  /** True when calls go on the stream; opens one when it is due. */
  usable(): boolean {
    if (this.#state === 'open') {
      return true;
    }
    if (this.#state !== 'opening' && Date.now() >= this.#retryAt) {
      this.#open();
    }
    return false;
  }

  #open(): void {
    this.#state = 'opening';
    const stream = this.#stub.exchange();
    this.#stream = stream;
    stream.on('data', (res: ExchangeResponse__Output) => this.#received(stream, res));
    stream.on('error', () => undefined); // the status below says it all
    stream.on('status', (status: grpc.StatusObject) => this.#ended(stream, status));
    stream.on('drain', () => {
      this.#blocked = false;
      this.#flush();
    });
    stream.write({ calls: [] });
  }

  #received(stream: unknown, res: ExchangeResponse__Output): void {
    if (stream !== this.#stream) {
      return;
    }
    if (this.#state === 'opening') {
      this.#state = 'open';
    }
    for (const answer of res.answers) {
      const p = this.#pending.get(answer.id);
      if (p !== undefined) {
        this.#pending.delete(answer.id);
        clearTimeout(p.timer);
        p.resolve(answer);
      }
    }
  }

  #ended(stream: unknown, status: Status): void {
    if (stream !== this.#stream) {
      return;
    }
    this.#stream = null;
    const refused = status.code === grpc.status.UNIMPLEMENTED;
    this.#state = refused ? 'refused' : 'closed';
    this.#retryAt = Date.now() + (refused ? this.#reofferMs : this.#reopenMs);
    const detail =
      status.code === grpc.status.OK ? 'the participant ended the stream' : failureKind(status);
    this.#fail(detail);
  }

  #fail(detail: string): void {
    this.#outbox = [];
    this.#blocked = false;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new ParticipantUnavailableError(p.name, `${WHAT[p.kind]} failed (${detail})`));
    }
  }

  /** Sends one call on the stream; resolves with its answer's payload. */
  send<K extends Kind>(
    kind: K,
    call: ParticipantCall,
    payload: NonNullable<PhaseCall[K]>,
  ): Promise<NonNullable<PhaseAnswer__Output[K]>> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId;
      this.#nextId = (this.#nextId + 1) >>> 0;
      const fail = (detail: string): void =>
        reject(new ParticipantUnavailableError(call.name, `${WHAT[kind]} failed (${detail})`));
      const timer = setTimeout(() => {
        if (this.#pending.delete(id)) {
          fail('no answer before the deadline');
        }
      }, call.timeoutMs);
      this.#pending.set(id, {
        kind,
        name: call.name,
        timer,
        reject,
        resolve: (answer) => {
          const got = answer[kind];
          if (answer.answer === kind && got !== null && got !== undefined) {
            resolve(got as NonNullable<PhaseAnswer__Output[K]>);
          } else if (answer.error !== null && answer.error !== undefined) {
            const code = grpc.status[answer.error.code] ?? String(answer.error.code);
            fail(`${code}: ${answer.error.message}`);
          } else {
            fail(`protocol error: a ${WHAT[kind]} answered with ${answer.answer ?? 'nothing'}`);
          }
        },
      });
      this.#outbox.push({
        id,
        [kind]: payload,
        traceContext: { ...call.traceHeaders },
        deadline: toTimestamp(deadlineIn(call.timeoutMs)),
      });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Writes what the event loop's turn gathered; a full socket waits for 'drain'. */
  #flush(): void {
    this.#flushScheduled = false;
    const stream = this.#stream;
    // Calls whose deadline passed while queued are not sent.
    this.#outbox = this.#outbox.filter((c) => this.#pending.has(c.id ?? -1));
    while (stream !== null && !this.#blocked && this.#outbox.length > 0) {
      const calls = this.#outbox.slice(0, this.#maxCalls);
      this.#outbox = this.#outbox.slice(this.#maxCalls);
      this.#blocked = !stream.write({ calls });
    }
  }

  close(): void {
    const stream = this.#stream;
    this.#stream = null;
    this.#state = 'closed';
    this.#fail('the coordinator is closing');
    stream?.cancel();
  }
}

/**
 * Calls participants through twopc.v1.BatchedParticipant where they offer
 * it, and through the unary Participant calls where they do not (or while
 * the stream opens, or after it failed): the same ParticipantClient, the
 * same failures (ParticipantUnavailableError), on the same connection.
 */
export class BatchedParticipantClient implements ParticipantClient {
  readonly #unary: GrpcParticipantClient;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #options: BatchingOptions;
  readonly #links = new Map<string, PhaseLink>();
  readonly #stubs: BatchedStub[] = [];

  constructor(
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: BatchingOptions = {},
  ) {
    this.#credentials = credentials;
    this.#options = options;
    this.#unary = new GrpcParticipantClient(credentials);
  }

  #link(endpoint: string): PhaseLink {
    let link = this.#links.get(endpoint);
    if (link === undefined) {
      const Ctor = loadTwopcProto().twopc.v1.BatchedParticipant;
      const stub = new Ctor(endpoint, this.#credentials, PARTICIPANT_CHANNEL);
      this.#stubs.push(stub);
      link = new PhaseLink(stub, this.#options);
      this.#links.set(endpoint, link);
    }
    return link;
  }

  /** How an endpoint is called now (for operators and tests). */
  mode(endpoint: string): 'batched' | 'unary' {
    return this.#links.get(endpoint)?.mode ?? 'unary';
  }

  async prepare(call: ParticipantCall): Promise<PrepareResult> {
    const link = this.#link(call.endpoint);
    if (!link.usable()) {
      return this.#unary.prepare(call);
    }
    const deadline = toTimestamp(deadlineIn(call.timeoutMs));
    const base = { txnId: call.txnId, participantName: call.name };
    return toPrepareResult(await link.send('prepare', call, { ...base, deadline }));
  }

  async commit(call: ParticipantCall, onePhase: boolean): Promise<AckResult> {
    const link = this.#link(call.endpoint);
    if (!link.usable()) {
      return this.#unary.commit(call, onePhase);
    }
    const base = { txnId: call.txnId, participantName: call.name };
    return toAckResult(await link.send('commit', call, { ...base, onePhase }));
  }

  async abort(call: ParticipantCall, reason: string): Promise<AckResult> {
    const link = this.#link(call.endpoint);
    if (!link.usable()) {
      return this.#unary.abort(call, reason);
    }
    const base = { txnId: call.txnId, participantName: call.name };
    const res = await link.send('abort', call, { ...base, reason });
    return { ...toAckResult(res), reason: null };
  }

  close(): void {
    for (const link of this.#links.values()) {
      link.close();
    }
    this.#links.clear();
    for (const stub of this.#stubs.splice(0)) {
      stub.close();
    }
    this.#unary.close();
  }
}
