import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { loadTwopcProto, toTimestamp } from './wire/proto.ts';
import type { BatchedParticipantClient as BatchedStub } from './wire/generated/twopc/v1/BatchedParticipant.ts';
import type { ExchangeResponse__Output } from './wire/generated/twopc/v1/ExchangeResponse.ts';
import type { PhaseAnswer__Output } from './wire/generated/twopc/v1/PhaseAnswer.ts';
import type { PhaseCall } from './wire/generated/twopc/v1/PhaseCall.ts';
import type { ParticipantClient as ParticipantStub } from './wire/generated/twopc/v1/Participant.ts';
import { channelTlsCredentials } from './tls/credentials.ts';
import type { TlsFiles } from './tls/credentials.ts';

/** What the kit drives, and the hooks for the checks that need the application. */
export interface ConformanceOptions {
  /** The participant's address (host:port). */
  readonly participant: string;
  /** The name sent as `participant_name` (default `conformance`). */
  readonly name?: string;
  /** TLS to the participant (its CA; a client certificate for mutual TLS). */
  readonly tls?: TlsFiles;
  /** Deadline of each call (ms, default 5000). */
  readonly callTimeoutMs?: number;
  /**
   * Gives the participant real work in a transaction, as a business call
   * would (for the TypeScript helper: a call carrying `twopc-txn-id`, which
   * enlists it). Returns the transaction id, begun on the coordinator the
   * participant reports to. Without it, the checks that need a prepared
   * branch with work in it are skipped.
   */
  readonly work?: () => Promise<string>;
  /** Restarts the participant (kill and start again); with `work`, checks that prepared work survives. */
  readonly restart?: () => Promise<void>;
}

export interface CheckResult {
  readonly check: string;
  readonly status: 'pass' | 'fail' | 'skip';
  /** What was seen; for a failure, what to fix. */
  readonly detail: string;
}

type Unary<Res> = (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

interface Stubs {
  readonly participant: ParticipantStub;
  readonly batched: BatchedStub;
  readonly health: grpc.Client & {
    check(req: object, opts: grpc.CallOptions, cb: grpc.requestCallback<{ status: string }>): void;
  };
  close(): void;
}

function connect(options: ConformanceOptions): Stubs {
  const creds =
    options.tls === undefined
      ? { credentials: grpc.credentials.createInsecure(), close: () => undefined }
      : channelTlsCredentials(options.tls);
  const proto = loadTwopcProto().twopc.v1;
  const Health = (
    grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String }))
      .grpc as grpc.GrpcObject
  ).health as grpc.GrpcObject;
  const HealthCtor = (Health.v1 as grpc.GrpcObject).Health as grpc.ServiceClientConstructor;
  const participant = new proto.Participant(options.participant, creds.credentials);
  const batched = new proto.BatchedParticipant(options.participant, creds.credentials);
  // The health proto is loaded untyped: its one method, typed here.
  const health = new HealthCtor(
    options.participant,
    creds.credentials,
  ) as unknown as Stubs['health'];
  return {
    participant,
    batched,
    health,
    close: () => {
      participant.close();
      batched.close();
      health.close();
      creds.close();
    },
  };
}

/** A check's verdict, thrown by its body. */
class Verdict extends Error {
  readonly status: 'fail' | 'skip';
  constructor(status: 'fail' | 'skip', detail: string) {
    super(detail);
    this.status = status;
  }
}

const fail = (detail: string): never => {
  throw new Verdict('fail', detail);
};
const skip = (detail: string): never => {
  throw new Verdict('skip', detail);
};

/**
 * Drives a participant through the twopc participant contract
 * (`proto/twopc/v1/participant.proto`) as a coordinator would, and reports
 * each rule kept or broken, with what to fix. Any implementation, in any
 * language: the kit speaks only the wire protocol. Transactions are fresh
 * random ids unknown to any coordinator, except those `work` begins.
 */
export async function checkParticipant(options: ConformanceOptions): Promise<CheckResult[]> {
  const stubs = connect(options);
  const name = options.name ?? 'conformance';
  const timeoutMs = options.callTimeoutMs ?? 5_000;
  const deadline = (): Date => new Date(Date.now() + timeoutMs);
  const call = <Res>(fn: Unary<Res>): Promise<Res> =>
    new Promise((resolve, reject) =>
      fn((err, res) => (err !== null || res === undefined ? reject(err) : resolve(res))),
    );
  const p = stubs.participant;
  const md = (): grpc.Metadata => new grpc.Metadata();
  const prepare = (txnId: string, metadata = md()): Promise<{ vote: string; reason: string }> =>
    call((cb) =>
      p.prepare(
        { txnId, participantName: name, deadline: toTimestamp(deadline()) },
        metadata,
        { deadline: deadline() },
        cb,
      ),
    );
  const commit = (txnId: string, onePhase = false): Promise<{ outcome: string }> =>
    call((cb) =>
      p.commit({ txnId, participantName: name, onePhase }, md(), { deadline: deadline() }, cb),
    );
  const abort = (txnId: string): Promise<{ outcome: string }> =>
    call((cb) =>
      p.abort(
        { txnId, participantName: name, reason: 'conformance' },
        md(),
        { deadline: deadline() },
        cb,
      ),
    );
  const results: CheckResult[] = [];
  const check = async (title: string, body: () => Promise<string>): Promise<void> => {
    try {
      results.push({ check: title, status: 'pass', detail: await body() });
    } catch (err) {
      if (err instanceof Verdict) {
        results.push({ check: title, status: err.status, detail: err.message });
      } else {
        const e = err as { code?: number; details?: string; message?: string };
        const what =
          typeof e.code === 'number'
            ? `answered ${grpc.status[e.code]}: ${e.details ?? ''}`
            : String(e.message);
        results.push({ check: title, status: 'fail', detail: what });
      }
    }
  };

  try {
    // One verdict, not a page of misleading FAILs, when nothing at this
    // address speaks the participant contract at all. An Abort of a fresh
    // id is harmless to any participant (an empty rollback).
    const reached = await abort(randomUUID()).then(
      () => null,
      (err: grpc.ServiceError) =>
        err.code === grpc.status.UNAVAILABLE
          ? `nothing answers gRPC at ${options.participant} (${err.details}): is the participant running there${options.tls === undefined ? '' : ', with this TLS'}?`
          : err.code === grpc.status.UNIMPLEMENTED
            ? `${options.participant} answers gRPC but does not serve twopc.v1.Participant: is it the participant's address?`
            : null,
    );
    if (reached !== null) {
      return [{ check: 'reachable as a twopc participant', status: 'fail', detail: reached }];
    }
    await check('health service present and SERVING', async () => {
      const res = await call<{ status: string }>((cb) =>
        stubs.health.check({ service: '' }, { deadline: deadline() }, cb),
      ).catch((err: grpc.ServiceError) =>
        fail(
          `grpc.health.v1.Health/Check answered ${grpc.status[err.code]}: serve the standard health service (the coordinator's heartbeat)`,
        ),
      );
      return res.status === 'SERVING'
        ? 'SERVING'
        : fail(`status ${res.status}: answer SERVING while the service can take calls`);
    });

    await check('Commit of an unknown transaction is acknowledged', async () => {
      const res = await commit(randomUUID()).catch((err: grpc.ServiceError) =>
        fail(
          `answered ${grpc.status[err.code]}: Commit must acknowledge a transaction it does not know (it may have committed before a restart)`,
        ),
      );
      return `outcome ${res.outcome}`;
    });

    await check('Abort of an unknown transaction is acknowledged as aborted', async () => {
      const res = await abort(randomUUID()).catch((err: grpc.ServiceError) =>
        fail(`answered ${grpc.status[err.code]}: Abort must acknowledge an unknown transaction`),
      );
      return res.outcome === 'OUTCOME_ABORTED'
        ? 'OUTCOME_ABORTED'
        : fail(`outcome ${res.outcome}: an unknown branch is rolled back (OUTCOME_ABORTED)`);
    });

    await check('Abort before Prepare, then the late Prepare is refused (suspension)', async () => {
      const txnId = randomUUID();
      await abort(txnId);
      const vote = await prepare(txnId);
      return vote.vote === 'VOTE_ABORT'
        ? `VOTE_ABORT (${vote.reason})`
        : fail(
            `voted ${vote.vote}: remember an Abort that came before Prepare, and vote VOTE_ABORT on the late Prepare`,
          );
    });

    await check('a malformed transaction id is INVALID_ARGUMENT', async () => {
      const err = await prepare('not-a-transaction-id').then(
        () => null,
        (e: grpc.ServiceError) => e,
      );
      if (err === null) {
        return fail(
          'voted on a malformed id: validate txn_id (a UUID) and answer INVALID_ARGUMENT',
        );
      }
      return err.code === grpc.status.INVALID_ARGUMENT
        ? 'INVALID_ARGUMENT'
        : fail(`answered ${grpc.status[err.code]}: answer INVALID_ARGUMENT for a malformed txn_id`);
    });

    await check(
      'Prepare with W3C trace context is accepted; a repeated Prepare votes alike',
      async () => {
        const txnId = randomUUID();
        const traced = md();
        traced.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
        const first = await prepare(txnId, traced);
        const again = await prepare(txnId);
        await abort(txnId);
        return first.vote === again.vote
          ? `${first.vote} twice`
          : fail(
              `voted ${first.vote}, then ${again.vote}: a repeated Prepare must answer the same vote`,
            );
      },
    );

    await check('Prepare answers within its deadline', async () => {
      const txnId = randomUUID();
      const started = Date.now();
      await prepare(txnId).catch((err: grpc.ServiceError) =>
        err.code === grpc.status.DEADLINE_EXCEEDED
          ? fail(`no vote within ${timeoutMs} ms: answer before PrepareRequest.deadline`)
          : Promise.reject(err),
      );
      await abort(txnId);
      return `voted in ${Date.now() - started} ms`;
    });

    await check(
      'a branch it never joined votes READ_ONLY (owed no phase 2) or ABORT, and again alike',
      async () => {
        const txnId = randomUUID();
        const vote = await prepare(txnId);
        const again = await prepare(txnId);
        if (again.vote !== vote.vote) {
          return fail(
            `voted ${vote.vote}, then ${again.vote}: a repeated Prepare must answer the same vote`,
          );
        }
        switch (vote.vote) {
          case 'VOTE_READ_ONLY':
            // The coordinator sends a READ_ONLY voter nothing more; a stray
            // phase-2 message (an old coordinator, a retry) is acknowledged.
            await commit(txnId);
            return 'READ_ONLY, released at the vote; a stray Commit is acknowledged';
          case 'VOTE_ABORT':
            await abort(txnId);
            return 'ABORT (safe: work it may have lost in a crash is never committed)';
          default:
            await abort(txnId);
            return skip(
              `voted ${vote.vote} on a branch it never joined, so READ_ONLY could not be checked: VOTE_READ_ONLY would release an empty branch at once and spare it phase 2, VOTE_ABORT would keep work lost in a crash from committing`,
            );
        }
      },
    );

    await check(
      'phase 2 is idempotent: Commit twice, then a late Abort reports the commit',
      async () => {
        // A branch with work in it when the application gives some; else an empty one.
        const txnId = options.work === undefined ? randomUUID() : await options.work();
        const vote = await prepare(txnId);
        if (vote.vote !== 'VOTE_PREPARED') {
          await abort(txnId);
          const on =
            options.work === undefined ? 'a branch with no work' : 'the branch `work` gave';
          return skip(
            `voted ${vote.vote} on ${on}; give \`work\` that leaves something to prepare to run this check`,
          );
        }
        const [a, b] = [await commit(txnId), await commit(txnId)];
        if (a.outcome !== 'OUTCOME_COMMITTED' || b.outcome !== 'OUTCOME_COMMITTED') {
          return fail(
            `Commit answered ${a.outcome}, then ${b.outcome}: both must report OUTCOME_COMMITTED`,
          );
        }
        const late = await abort(txnId);
        return late.outcome === 'OUTCOME_COMMITTED'
          ? 'COMMITTED, COMMITTED; the late Abort reports OUTCOME_COMMITTED'
          : fail(
              `a late Abort answered ${late.outcome}: after a commit, report OUTCOME_COMMITTED (never roll back)`,
            );
      },
    );

    await check('the batched channel, when offered', async () => checkBatched(stubs.batched, name));

    await check('prepared work survives a restart', async () => {
      if (options.work === undefined || options.restart === undefined) {
        return skip('needs the `work` and `restart` hooks (library use)');
      }
      const txnId = await options.work();
      const vote = await prepare(txnId);
      if (vote.vote !== 'VOTE_PREPARED') {
        return fail(
          `voted ${vote.vote} on a branch with work: the work hook should leave work to prepare`,
        );
      }
      await options.restart();
      const again = await prepare(txnId);
      if (again.vote !== 'VOTE_PREPARED') {
        return fail(
          `after the restart a repeated Prepare voted ${again.vote}: prepared work must be durable before VOTE_PREPARED`,
        );
      }
      const done = await commit(txnId);
      return done.outcome === 'OUTCOME_COMMITTED'
        ? 'still PREPARED after the restart, then committed'
        : fail(`the Commit after the restart answered ${done.outcome}`);
    });
  } finally {
    stubs.close();
  }
  return results;
}

/** Exchange: the opening, answers by id, suspension and per-call errors on one stream. */
async function checkBatched(stub: BatchedStub, name: string): Promise<string> {
  const stream = stub.exchange();
  const answers = new Map<number, PhaseAnswer__Output>();
  let opened = false;
  let waiting: (() => void) | null = null;
  const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  stream.on('error', () => undefined); // the status says it
  stream.on('data', (res: ExchangeResponse__Output) => {
    opened ||= res.answers.length === 0;
    res.answers.forEach((a) => answers.set(a.id, a));
    waiting?.();
  });
  const until = async (done: () => boolean, what: string): Promise<void> => {
    const timeout = Date.now() + 5_000;
    while (!done()) {
      const ended = await Promise.race([
        status.then((s) => s),
        new Promise<null>((resolve) => {
          waiting = () => resolve(null);
          setTimeout(() => resolve(null), 100);
        }),
      ]);
      if (ended !== null) {
        if (ended.code === grpc.status.UNIMPLEMENTED) {
          skip('not offered (UNIMPLEMENTED): the coordinator calls this participant unary');
        }
        fail(
          `the stream ended with ${grpc.status[ended.code]} (${ended.details}) while waiting for ${what}`,
        );
      }
      if (Date.now() > timeout) {
        fail(`no ${what} within 5 s`);
      }
    }
  };
  try {
    stream.write({ calls: [] });
    await until(() => opened, 'answer to the opening (an empty ExchangeResponse)');
    const [suspended, unknown] = [randomUUID(), randomUUID()];
    const calls: PhaseCall[] = [
      { id: 1, abort: { txnId: suspended, participantName: name, reason: 'conformance' } },
      { id: 2, commit: { txnId: unknown, participantName: name } },
      { id: 3, prepare: { txnId: 'not-a-transaction-id', participantName: name } },
    ];
    stream.write({ calls });
    await until(() => [1, 2, 3].every((id) => answers.has(id)), 'answer to every call by its id');
    stream.write({ calls: [{ id: 4, prepare: { txnId: suspended, participantName: name } }] });
    await until(() => answers.has(4), 'answer to a Prepare after its Abort');
    const problems = [
      answers.get(1)?.abort?.outcome === 'OUTCOME_ABORTED'
        ? null
        : 'an Abort of an unknown branch answered other than OUTCOME_ABORTED',
      answers.get(2)?.commit !== undefined && answers.get(2)?.commit !== null
        ? null
        : 'a Commit of an unknown branch was not acknowledged',
      answers.get(3)?.error?.code === grpc.status.INVALID_ARGUMENT
        ? null
        : 'a malformed id did not get error INVALID_ARGUMENT (per call, the stream going on)',
      answers.get(4)?.prepare?.vote === 'VOTE_ABORT'
        ? null
        : 'the Prepare after an Abort was not refused with VOTE_ABORT',
    ].filter((x) => x !== null);
    if (problems.length > 0) {
      fail(problems.join('; '));
    }
    stream.end();
    const ended = await Promise.race([
      status,
      new Promise<null>((r) => setTimeout(() => r(null), 5_000)),
    ]);
    if (ended === null || ended.code !== grpc.status.OK) {
      fail('after the coordinator ended its side, the stream did not end with OK');
    }
    return 'opening, answers by id, suspension and per-call errors on one stream';
  } finally {
    stream.cancel();
  }
}

/** The report as a person reads it: one line a check, then the count. */
export function formatReport(participant: string, results: readonly CheckResult[]): string {
  const mark = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;
  const lines = results.map((r) => `${mark[r.status]}  ${r.check}\n      ${r.detail}`);
  const count = (s: CheckResult['status']): number => results.filter((r) => r.status === s).length;
  return `twopc participant conformance: ${participant}\n\n${lines.join('\n')}\n\n${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped\n`;
}
