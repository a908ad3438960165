"""A participant service for the tests: the package's helper in front of recording handlers, on a real server."""

from __future__ import annotations

import asyncio
import threading
from concurrent import futures
from typing import Any, Callable, Optional

import grpc

import twopc
from twopc.aio import AsyncTwopcParticipant
from twopc.v1 import participant_pb2 as ppb

WORK = "/test.v1.Work/Do"


class Recorder:
    """Handlers that record each call; the vote and failures are set by the test."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.work: dict[str, list[bytes]] = {}
        self.vote: Callable[[str], twopc.Vote] = lambda t: twopc.Vote.PREPARED if self.work.get(t) else twopc.Vote.READ_ONLY
        self.fail_commits = 0
        self.lock = threading.Lock()

    def prepare(self, txn_id: str) -> twopc.Vote:
        self.calls.append(("prepare", txn_id))
        return self.vote(txn_id)

    def commit(self, txn_id: str) -> None:
        with self.lock:
            if self.fail_commits > 0:
                self.fail_commits -= 1
                raise RuntimeError("the disk is away")
        self.calls.append(("commit", txn_id))

    def abort(self, txn_id: str, reason: str) -> None:
        self.calls.append(("abort", txn_id))

    def count(self, kind: str, txn_id: str) -> int:
        return self.calls.count((kind, txn_id))


class Calls:
    """Calls a test makes to a participant service: the business method and the three phase calls."""

    channel: grpc.Channel

    def do(self, txn_id: Optional[str], payload: bytes = b"x", metadata: tuple[tuple[str, str], ...] = ()) -> str:
        md = metadata + ((("twopc-txn-id", txn_id),) if txn_id is not None else ())
        answer: bytes = self.channel.unary_unary(WORK)(payload, metadata=md, timeout=10)
        return answer.decode()

    def prepare(self, txn_id: str) -> Any:
        return self.channel.unary_unary("/twopc.v1.Participant/Prepare", request_serializer=ppb.PrepareRequest.SerializeToString,
                                        response_deserializer=ppb.PrepareResponse.FromString)(ppb.PrepareRequest(txn_id=txn_id), timeout=10)

    def commit(self, txn_id: str) -> Any:
        return self.channel.unary_unary("/twopc.v1.Participant/Commit", request_serializer=ppb.ParticipantCommitRequest.SerializeToString,
                                        response_deserializer=ppb.ParticipantCommitResponse.FromString)(ppb.ParticipantCommitRequest(txn_id=txn_id), timeout=10)

    def abort(self, txn_id: str) -> Any:
        return self.channel.unary_unary("/twopc.v1.Participant/Abort", request_serializer=ppb.ParticipantAbortRequest.SerializeToString,
                                        response_deserializer=ppb.ParticipantAbortResponse.FromString)(ppb.ParticipantAbortRequest(txn_id=txn_id), timeout=10)



class ThreadedService(Calls):
    """The threaded helper on grpc.server, with a business method that records work in the joined transaction."""

    def __init__(self, coordinator: str, name: str, handlers: Any, branches: Optional[twopc.BranchStore] = None) -> None:
        self.handlers = handlers
        self.participant = twopc.TwopcParticipant(
            name=name, endpoint="", coordinator=coordinator, handlers=handlers, branches=branches,
            check_after_s=0.5, check_every_s=0,
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(16), interceptors=[self.participant.interceptor])
        self.participant.add_to(self.server)
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.v1.Work", {"Do": grpc.unary_unary_rpc_method_handler(self._do)}),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.participant.endpoint = self.endpoint
        self.server.start()
        self.channel = grpc.insecure_channel(self.endpoint)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _do(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        txn_id = twopc.current_txn_id()
        if txn_id is not None and isinstance(self.handlers, Recorder):
            self.handlers.work.setdefault(txn_id, []).append(request)
        return (txn_id or "").encode()

    def close(self) -> None:
        self.channel.close()
        self.server.stop(0).wait()
        self.participant.close()


class AsyncService(Calls):
    """The asyncio helper on grpc.aio.server, in a loop of its own thread (the test drives it with blocking calls)."""

    def __init__(self, coordinator: str, name: str, handlers: Any, branches: Optional[twopc.BranchStore] = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.handlers = handlers

        async def start() -> tuple[AsyncTwopcParticipant, Any, int]:
            participant = AsyncTwopcParticipant(name=name, endpoint="", coordinator=coordinator, handlers=handlers,
                                                branches=branches, check_after_s=0.5, check_every_s=0)

            async def do(request: bytes, context: Any) -> bytes:
                txn_id = twopc.current_txn_id()
                if txn_id is not None:
                    handlers.work.setdefault(txn_id, []).append(request)
                return (txn_id or "").encode()

            server = grpc.aio.server(interceptors=[participant.interceptor])
            participant.add_to(server)
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.v1.Work", {"Do": grpc.unary_unary_rpc_method_handler(do)}),))
            port = server.add_insecure_port("127.0.0.1:0")
            participant.endpoint = f"127.0.0.1:{port}"
            await server.start()
            return participant, server, port

        self.participant, self.server, self.port = self.run(start())
        self.channel = grpc.insecure_channel(self.endpoint)

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.channel.close()

        async def stop() -> None:
            await self.server.stop(0)
            await self.participant.close()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
