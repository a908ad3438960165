import * as grpc from '@grpc/grpc-js';
import type { ExchangeRequest__Output } from './wire/generated/twopc/v1/ExchangeRequest.ts';
import type { ExchangeResponse } from './wire/generated/twopc/v1/ExchangeResponse.ts';
import type { ParticipantAbortRequest__Output } from './wire/generated/twopc/v1/ParticipantAbortRequest.ts';
import type { ParticipantAbortResponse } from './wire/generated/twopc/v1/ParticipantAbortResponse.ts';
import type { ParticipantCommitRequest__Output } from './wire/generated/twopc/v1/ParticipantCommitRequest.ts';
import type { ParticipantCommitResponse } from './wire/generated/twopc/v1/ParticipantCommitResponse.ts';
import type { PhaseAnswer } from './wire/generated/twopc/v1/PhaseAnswer.ts';
import type { PhaseCall__Output } from './wire/generated/twopc/v1/PhaseCall.ts';
import type { PrepareRequest__Output } from './wire/generated/twopc/v1/PrepareRequest.ts';
import type { PrepareResponse } from './wire/generated/twopc/v1/PrepareResponse.ts';
import { contextFromHeaders, runPhaseCall } from './participant-call.ts';
import type { CallFailure } from './participant-call.ts';

/** The three phase calls of a participant, by the id they were validated to. */
export interface PhaseHandlers {
  prepare(txnId: string, req: PrepareRequest__Output): Promise<PrepareResponse>;
  commit(txnId: string, req: ParticipantCommitRequest__Output): Promise<ParticipantCommitResponse>;
  abort(txnId: string, req: ParticipantAbortRequest__Output): Promise<ParticipantAbortResponse>;
}

/** Answers sent in one message at most (the rest follow in the next). */
const MAX_ANSWERS = 512;

/** One call of a batch, answered on its own. */
async function answer(
  participant: string,
  call: PhaseCall__Output,
  handlers: PhaseHandlers,
): Promise<PhaseAnswer> {
  const parent = contextFromHeaders(call.traceContext);
  try {
    switch (call.call) {
      case 'prepare':
        return {
          id: call.id,
          prepare: await runPhaseCall(
            participant,
            'prepare',
            request(call.prepare),
            parent,
            (t, r) => handlers.prepare(t, r),
          ),
        };
      case 'commit':
        return {
          id: call.id,
          commit: await runPhaseCall(participant, 'commit', request(call.commit), parent, (t, r) =>
            handlers.commit(t, r),
          ),
        };
      case 'abort':
        return {
          id: call.id,
          abort: await runPhaseCall(participant, 'abort', request(call.abort), parent, (t, r) =>
            handlers.abort(t, r),
          ),
        };
      default:
        return failed(call.id, {
          code: grpc.status.INVALID_ARGUMENT,
          details: 'a phase call names prepare, commit or abort',
        });
    }
  } catch (err) {
    return failed(call.id, err as CallFailure);
  }
}

function request<T>(req: T | null | undefined): T & { txnId: string } {
  // proto3 always decodes the chosen oneof member; an empty one still has txnId ''.
  return (req ?? { txnId: '' }) as T & { txnId: string };
}

function failed(id: number, failure: CallFailure): PhaseAnswer {
  return { id, error: { code: failure.code, message: failure.details } };
}

/**
 * Serves twopc.v1.BatchedParticipant.Exchange: every call of every batch
 * runs at once (the handlers order the calls of one transaction), and the
 * answers that are ready together leave in one message, once the event
 * loop has nothing else to do (an answer waits for no other). An empty
 * batch is the coordinator's opening: it is answered at once. When the
 * coordinator ends its side, the calls in progress are answered first.
 * @internal
 */
export function serveExchange(
  participant: string,
  handlers: PhaseHandlers,
): grpc.handleBidiStreamingCall<ExchangeRequest__Output, ExchangeResponse> {
  return (stream) => {
    let outbox: PhaseAnswer[] = [];
    let flushing = false;
    let inProgress = 0;
    let ended = false;
    let gone = false;
    const finishIfDone = (): void => {
      if (ended && inProgress === 0 && outbox.length === 0 && !gone) {
        gone = true;
        stream.end();
      }
    };
    const flush = (): void => {
      flushing = false;
      while (outbox.length > 0 && !gone) {
        stream.write({ answers: outbox.slice(0, MAX_ANSWERS) });
        outbox = outbox.slice(MAX_ANSWERS);
      }
      finishIfDone();
    };
    stream.on('data', (batch: ExchangeRequest__Output) => {
      if (batch.calls.length === 0) {
        stream.write({ answers: [] });
        return;
      }
      for (const call of batch.calls) {
        inProgress++;
        void answer(participant, call, handlers).then((a) => {
          inProgress--;
          outbox.push(a);
          if (!flushing) {
            flushing = true;
            setImmediate(flush);
          }
        });
      }
    });
    stream.on('end', () => {
      ended = true;
      finishIfDone();
    });
    // The coordinator went away: answers in progress have nowhere to go; it
    // asks again (phase 2 until done) on its next stream or call.
    stream.on('error', () => {
      gone = true;
    });
    stream.on('cancelled', () => {
      gone = true;
    });
  };
}
