"""twopc.v1.BatchedParticipant.Exchange: the phase calls of many transactions on one stream, answered by id."""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent import futures
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Optional, Union

import grpc

from .errors import InvalidArgumentError
from .ids import parse_txn_id
from .tracing import use_headers, headers_from_metadata
from .v1 import participant_pb2 as ppb

BATCHED = "twopc.v1.BatchedParticipant"
#: Answers sent in one message at most (the rest follow in the next).
MAX_ANSWERS = 512

SyncPhase = Callable[[str, Any], Any]
AsyncPhase = Callable[[str, Any], Awaitable[Any]]


def _request(call: ppb.PhaseCall) -> Optional[tuple[str, Any]]:
    kind = call.WhichOneof("call")
    return None if kind is None else (kind, getattr(call, kind))


def _failed(call_id: int, code: grpc.StatusCode, message: str) -> ppb.PhaseAnswer:
    return ppb.PhaseAnswer(id=call_id, error=ppb.PhaseError(code=code.value[0], message=message))


def _answered(call_id: int, kind: str, response: Any) -> ppb.PhaseAnswer:
    answer = ppb.PhaseAnswer(id=call_id)
    getattr(answer, kind).CopyFrom(response)
    return answer


def answer_sync(phases: dict[str, SyncPhase], call: ppb.PhaseCall) -> ppb.PhaseAnswer:
    """One call of a batch, answered on its own, as the unary call would be."""
    request = _request(call)
    if request is None:
        return _failed(call.id, grpc.StatusCode.INVALID_ARGUMENT, "a phase call names prepare, commit or abort")
    kind, req = request
    try:
        txn_id = parse_txn_id(req.txn_id)
    except InvalidArgumentError as err:
        return _failed(call.id, grpc.StatusCode.INVALID_ARGUMENT, err.details)
    try:
        with use_headers(headers_from_metadata(list(call.trace_context.items()))):
            return _answered(call.id, kind, phases[kind](txn_id, req))
    except Exception as err:  # the coordinator retries: UNAVAILABLE
        return _failed(call.id, grpc.StatusCode.UNAVAILABLE, f"{kind} failed: {err}")


async def answer_async(phases: dict[str, AsyncPhase], call: ppb.PhaseCall) -> ppb.PhaseAnswer:
    request = _request(call)
    if request is None:
        return _failed(call.id, grpc.StatusCode.INVALID_ARGUMENT, "a phase call names prepare, commit or abort")
    kind, req = request
    try:
        txn_id = parse_txn_id(req.txn_id)
    except InvalidArgumentError as err:
        return _failed(call.id, grpc.StatusCode.INVALID_ARGUMENT, err.details)
    try:
        with use_headers(headers_from_metadata(list(call.trace_context.items()))):
            return _answered(call.id, kind, await phases[kind](txn_id, req))
    except Exception as err:
        return _failed(call.id, grpc.StatusCode.UNAVAILABLE, f"{kind} failed: {err}")


Outgoing = Optional[Union[ppb.ExchangeResponse, ppb.PhaseAnswer]]
"""What waits to be sent: an opening's answer, a call's answer, or None for the end."""


def serve_exchange_sync(phases: dict[str, SyncPhase], workers: futures.Executor) -> Callable[..., Iterator[ppb.ExchangeResponse]]:
    """The Exchange handler for grpc's threaded server: every call of every batch runs at once on ``workers``."""

    def exchange(requests: Iterator[ppb.ExchangeRequest], context: grpc.ServicerContext) -> Iterator[ppb.ExchangeResponse]:
        outbox: "queue.Queue[Outgoing]" = queue.Queue()
        lock = threading.Lock()
        state = {"in_progress": 0, "ended": False}

        def finish_if_done() -> None:
            if state["ended"] and state["in_progress"] == 0:
                outbox.put(None)

        def done(f: "futures.Future[ppb.PhaseAnswer]") -> None:
            outbox.put(f.result())
            with lock:
                state["in_progress"] -= 1
                finish_if_done()

        def read() -> None:
            try:
                for batch in requests:
                    if len(batch.calls) == 0:
                        outbox.put(ppb.ExchangeResponse())  # the opening, answered at once
                        continue
                    for call in batch.calls:
                        with lock:
                            state["in_progress"] += 1
                        workers.submit(answer_sync, phases, call).add_done_callback(done)
            except grpc.RpcError:
                pass  # the coordinator went away: it asks again on its next stream or call
            with lock:  # the coordinator ended its side: what is in progress is answered first
                state["ended"] = True
                finish_if_done()

        threading.Thread(target=read, name="twopc-exchange", daemon=True).start()
        while True:
            item = outbox.get()
            if item is None:
                return
            if isinstance(item, ppb.ExchangeResponse):
                yield item
                continue
            answers, ended = [item], False
            while len(answers) < MAX_ANSWERS and not outbox.empty():
                more = outbox.get_nowait()
                if more is None:
                    ended = True
                    break
                if isinstance(more, ppb.ExchangeResponse):
                    outbox.put(more)  # an opening's answer, after this batch
                    break
                answers.append(more)
            yield ppb.ExchangeResponse(answers=answers)
            if ended:
                return

    return exchange


def serve_exchange_async(phases: dict[str, AsyncPhase]) -> Callable[..., AsyncIterator[ppb.ExchangeResponse]]:
    """The Exchange handler for grpc.aio: a task per call; answers ready together leave in one message."""

    async def exchange(requests: AsyncIterator[ppb.ExchangeRequest], context: Any) -> AsyncIterator[ppb.ExchangeResponse]:
        outbox: "asyncio.Queue[Outgoing]" = asyncio.Queue()
        tasks: set["asyncio.Task[None]"] = set()

        async def run(call: ppb.PhaseCall) -> None:
            await outbox.put(await answer_async(phases, call))

        async def read() -> None:
            try:
                async for batch in requests:
                    if len(batch.calls) == 0:
                        await outbox.put(ppb.ExchangeResponse())
                        continue
                    for call in batch.calls:
                        task = asyncio.get_running_loop().create_task(run(call))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            except grpc.RpcError:
                pass
            while tasks:  # the coordinator ended its side: answer what is in progress first
                await asyncio.gather(*list(tasks), return_exceptions=True)
            await outbox.put(None)

        reader = asyncio.get_running_loop().create_task(read())
        try:
            while True:
                item = await outbox.get()
                if item is None:
                    return
                if isinstance(item, ppb.ExchangeResponse):
                    yield item
                    continue
                answers = [item]
                ended = False
                while len(answers) < MAX_ANSWERS and not outbox.empty():
                    more = outbox.get_nowait()
                    if more is None:
                        ended = True
                        break
                    if isinstance(more, ppb.ExchangeResponse):
                        await outbox.put(more)  # an opening's answer after the batch
                        break
                    answers.append(more)
                yield ppb.ExchangeResponse(answers=answers)
                if ended:
                    return
        finally:
            reader.cancel()

    return exchange
