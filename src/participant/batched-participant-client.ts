import * as grpc from '@grpc/grpc-js';
import { ParticipantUnavailableError } from 'twopc/internal/contract/errors';
import type { BatchedParticipantClient as BatchedStub } from 'twopc/internal/wire/generated/twopc/v1/BatchedParticipant';
import type { ExchangeRequest } from 'twopc/internal/wire/generated/twopc/v1/ExchangeRequest';
import type { ExchangeResponse__Output } from 'twopc/internal/wire/generated/twopc/v1/ExchangeResponse';
import type { PhaseAnswer__Output } from 'twopc/internal/wire/generated/twopc/v1/PhaseAnswer';
import type { PhaseCall } from 'twopc/internal/wire/generated/twopc/v1/PhaseCall';
import { loadTwopcProto, toTimestamp } from 'twopc/internal/wire/proto';
import { deadlineIn } from 'twopc/internal/time/deadline-signal';
import {
  GrpcParticipantClient,
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
import { liveStub } from './participant-channel.ts';

type Kind = 'prepare' | 'commit' | 'abort';
const WHAT: Record<Kind, string> = { prepare: 'Prepare', commit: 'Commit', abort: 'Abort' };

export interface BatchingOptions {
  /** Offer the stream at all (default true); false: every call is unary. */
  readonly enabled?: boolean;
  /** Told of every call sent (unary: one; batched: a message of `calls`). */
  readonly sent?: (transport: 'unary' | 'batched', calls: number) => void;
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

/** How a call goes: on the stream, unary, or nowhere (`failed`: why the link failed). */
type Opening = 'stream' | 'unary' | { readonly failed: string };

/**
 * The batched channel to one participant endpoint: one Exchange stream,
 * opened on first use and used once the participant answered its opening.
 * Calls made in one turn of the event loop leave in one message; each has
 * its own id, deadline and trace context, and is answered (or fails) on its
 * own. A first call waits for the opening (within its deadline); after the
 * stream failed or was refused, calls go unary for a while.
 */
class PhaseLink {
  readonly stub: BatchedStub;
  readonly #maxCalls: number;
  readonly #reofferMs: number;
  readonly #reopenMs: number;
  readonly #sent: (transport: 'unary' | 'batched', calls: number) => void;
  #state: 'closed' | 'opening' | 'open' | 'refused' = 'closed';
  #retryAt = 0;
  #stream: grpc.ClientDuplexStream<ExchangeRequest, ExchangeResponse__Output> | null = null;
  readonly #pending = new Map<number, Pending>();
  #outbox: PhaseCall[] = [];
  #flushScheduled = false;
  #blocked = false;
  #nextId = 0;
  #opened: Promise<Opening> = Promise.resolve('unary');
  #settleOpening: (result: Opening) => void = () => undefined;

  constructor(stub: BatchedStub, options: BatchingOptions) {
    this.stub = stub;
    this.#maxCalls = options.maxCalls ?? 256;
    this.#reofferMs = options.reofferMs ?? 60_000;
    this.#reopenMs = options.reopenMs ?? 1_000;
    this.#sent = options.sent ?? (() => undefined);
  }

  /** What the link does now: batched, or unary while opening, refused or failed. */
  get mode(): 'batched' | 'unary' {
    return this.#state === 'open' ? 'batched' : 'unary';
  }

  /**
   * Where a call goes: 'stream' at once when it is open, or once the
   * participant answered the opening (when opening, or due to be opened
   * again); 'unary' when it refused (UNIMPLEMENTED), between a failure and
   * the next attempt, or when the opening took `waitMs`; otherwise what
   * failed the opening (the link itself: a unary call would fail alike).
   */
  ready(waitMs: number): Opening | Promise<Opening> {
    if (this.#state === 'open') {
      return 'stream';
    }
    if (this.#state !== 'opening') {
      if (Date.now() < this.#retryAt) {
        return 'unary';
      }
      this.#open();
    }
    const opened = this.#opened;
    return new Promise<Opening>((resolve) => {
      const timer = setTimeout(() => resolve('unary'), waitMs);
      void opened.then((result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  }

  #open(): void {
    this.#state = 'opening';
    let settle: (result: Opening) => void = () => undefined;
    this.#opened = new Promise<Opening>((resolve) => (settle = resolve));
    this.#settleOpening = settle;
    const stream = this.stub.exchange();
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
      this.#settleOpening('stream');
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
    this.#settleOpening(refused ? 'unary' : { failed: detail });
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
      const fail = (detail: string, words: string | null = null): void =>
        reject(
          new ParticipantUnavailableError(
            call.name,
            `${WHAT[kind]} failed (${detail})`,
            undefined,
            true,
            words,
          ),
        );
      if (this.#state !== 'open') {
        fail('the stream closed');
        return;
      }
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
            const code = grpc.status[answer.error.code] ?? `status ${answer.error.code}`;
            fail(code, answer.error.message);
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
      this.#sent('batched', calls.length);
    }
  }

  /** @param why what calls still waiting on the link are told */
  close(why = 'the coordinator is closing'): void {
    const stream = this.#stream;
    this.#stream = null;
    this.#state = 'closed';
    this.#retryAt = Infinity;
    this.#settleOpening({ failed: why });
    this.#fail(why);
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
  readonly #stubs = new Map<string, BatchedStub>();
  readonly #enabled: boolean;
  readonly #sent: (transport: 'unary' | 'batched', calls: number) => void;

  constructor(
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: BatchingOptions = {},
  ) {
    this.#credentials = credentials;
    this.#options = options;
    this.#unary = new GrpcParticipantClient(credentials);
    this.#enabled = options.enabled ?? true;
    this.#sent = options.sent ?? (() => undefined);
  }

  /** The endpoint's link; one not open whose connection failed is made anew (see liveStub). */
  #link(endpoint: string): PhaseLink {
    const link = this.#links.get(endpoint);
    if (link?.mode === 'batched') {
      return link;
    }
    const Ctor = loadTwopcProto().twopc.v1.BatchedParticipant;
    const stub = liveStub(this.#stubs, endpoint, (o) => new Ctor(endpoint, this.#credentials, o));
    if (link?.stub === stub) {
      return link;
    }
    link?.close('unreachable: its connection failed');
    const fresh = new PhaseLink(stub, this.#options);
    this.#links.set(endpoint, fresh);
    return fresh;
  }

  /**
   * Where a call goes: the endpoint's stream when it is (or becomes) ready,
   * else unary with what is left of its deadline (counted either way).
   * @throws ParticipantUnavailableError when opening the stream failed on the link itself
   */
  async #route(
    kind: Kind,
    call: ParticipantCall,
  ): Promise<{ link: PhaseLink | null; call: ParticipantCall }> {
    if (!this.#enabled) {
      this.#sent('unary', 1);
      return { link: null, call };
    }
    const link = this.#link(call.endpoint);
    const ready = link.ready(call.timeoutMs);
    if (ready === 'stream') {
      return { link, call };
    }
    const started = Date.now();
    const opening = await ready;
    if (typeof opening === 'object') {
      throw new ParticipantUnavailableError(
        call.name,
        `${WHAT[kind]} not sent (${opening.failed})`,
        undefined,
        false, // it waited for the stream, which failed: this call never left
      );
    }
    const left = { ...call, timeoutMs: Math.max(1, call.timeoutMs - (Date.now() - started)) };
    if (opening === 'unary') {
      this.#sent('unary', 1);
      return { link: null, call: left };
    }
    return { link, call: left };
  }

  /** How an endpoint is called now (for operators and tests). */
  mode(endpoint: string): 'batched' | 'unary' {
    return this.#links.get(endpoint)?.mode ?? 'unary';
  }

  async prepare(call: ParticipantCall): Promise<PrepareResult> {
    const { link, call: c } = await this.#route('prepare', call);
    if (link === null) {
      return this.#unary.prepare(c);
    }
    const deadline = toTimestamp(deadlineIn(c.timeoutMs));
    const base = { txnId: c.txnId, participantName: c.name };
    return toPrepareResult(await link.send('prepare', c, { ...base, deadline }));
  }

  async commit(call: ParticipantCall, onePhase: boolean): Promise<AckResult> {
    const { link, call: c } = await this.#route('commit', call);
    if (link === null) {
      return this.#unary.commit(c, onePhase);
    }
    const base = { txnId: c.txnId, participantName: c.name };
    return toAckResult(await link.send('commit', c, { ...base, onePhase }));
  }

  async abort(call: ParticipantCall, reason: string): Promise<AckResult> {
    const { link, call: c } = await this.#route('abort', call);
    if (link === null) {
      return this.#unary.abort(c, reason);
    }
    const base = { txnId: c.txnId, participantName: c.name };
    const res = await link.send('abort', c, { ...base, reason });
    return { ...toAckResult(res), reason: null };
  }

  close(): void {
    for (const link of this.#links.values()) {
      link.close();
    }
    this.#links.clear();
    for (const stub of this.#stubs.values()) {
      stub.close();
    }
    this.#stubs.clear();
    this.#unary.close();
  }
}
