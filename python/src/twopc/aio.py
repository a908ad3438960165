"""The client and the participant helper for asyncio (grpc.aio); the same concepts as :mod:`twopc.client` and :mod:`twopc.participant`."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, NoReturn, Optional, Protocol, Sequence, TypeVar, Union

import grpc

from . import _rules, _wire
from ._exchange import BATCHED, serve_exchange_async
from ._keyed import AsyncKeyedLock
from ._retry import CallDeadline, retry_delay_s
from ._rules import Vote
from .branch_store import BranchState, BranchStore, InMemoryBranchStore
from .client import (
    DEFAULT_ATTEMPTS,
    DEFAULT_CALL_TIMEOUT_S,
    TransactionAbortedError,
    begin_request,
    begin_result,
    commit_result,
    list_request,
    open_channel,
    outcome_result,
)
from .credentials import TlsFiles, TokenSource
from .errors import HeuristicOutcomeError, InvalidArgumentError, TwopcError, TxNotFoundError, error_from_rpc
from .ids import TXN_ID_METADATA, parse_name, parse_txn_id
from .model import BeginResult, Outcome, OutcomeResult, ParticipantRef, Transaction, TxState, to_state, to_transaction
from .participant import (
    BranchAlreadyFinishedError,
    ParticipantHandlers,
    _current_txn,
    is_business_method,
    status_of_join_failure,
    txn_of,
)
from .tracing import headers_from_metadata, trace_headers, use_headers
from .v1 import coordinator_pb2 as cpb
from .v1 import participant_pb2 as ppb

Req = TypeVar("Req")
Res = TypeVar("Res")
T = TypeVar("T")


class AsyncTwopcClient:
    """:class:`~twopc.TwopcClient` for asyncio: the same calls, retries, errors and trace context, awaited.

    Use it as an async context manager, or await :meth:`close`.
    """

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        tls: Optional[TlsFiles] = None,
        token: Optional[TokenSource] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self._channel: Any = open_channel(address, tls, token, credentials, aio=True)
        self._timeout_s = call_timeout_s
        self._attempts = attempts

    async def __aenter__(self) -> "AsyncTwopcClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: _wire.Method[Req, Res], request: Req, timeout_s: Optional[float] = None) -> Res:
        stub = self._channel.unary_unary(
            method.path, request_serializer=_wire.Method.serialize, response_deserializer=method.response
        )
        deadline = CallDeadline(timeout_s or self._timeout_s)
        for attempt in range(1, self._attempts + 1):
            try:
                res: Res = await stub(request, timeout=deadline.remaining_s(), metadata=trace_headers())
                return res
            except grpc.RpcError as err:
                typed = error_from_rpc(err)
                delay = retry_delay_s(typed, attempt)
                if delay is None or attempt >= self._attempts or not deadline.allows(delay):
                    raise typed from err
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def begin(
        self,
        *,
        lease_s: Optional[float] = None,
        labels: Optional[Mapping[str, str]] = None,
        participants: Sequence[ParticipantRef] = (),
    ) -> BeginResult:
        return begin_result(await self._call(_wire.BEGIN, begin_request(lease_s, labels, participants)))

    async def enlist(self, txn_id: str, participant: ParticipantRef) -> bool:
        req = cpb.EnlistRequest(
            txn_id=parse_txn_id(txn_id),
            participant=cpb.ParticipantRef(name=participant.name, endpoint=participant.endpoint),
        )
        return bool((await self._call(_wire.ENLIST, req)).newly_enlisted)

    async def heartbeat(self, txn_id: str, extend_s: float = 0) -> TxState:
        req = cpb.HeartbeatRequest(txn_id=parse_txn_id(txn_id), extend_ms=round(extend_s * 1000))
        return to_state((await self._call(_wire.HEARTBEAT, req)).state)

    async def commit(self, txn_id: str, *, wait_for_acks: bool = False, timeout_s: Optional[float] = None) -> OutcomeResult:
        req = cpb.CommitRequest(txn_id=parse_txn_id(txn_id), wait_for_acks=wait_for_acks)
        return commit_result(txn_id, await self._call(_wire.COMMIT, req, timeout_s))

    async def abort(self, txn_id: str, reason: str = "") -> OutcomeResult:
        req = cpb.AbortRequest(txn_id=parse_txn_id(txn_id), reason=reason)
        return outcome_result(await self._call(_wire.ABORT, req))

    async def get(self, txn_id: str) -> Transaction:
        req = cpb.GetTransactionRequest(txn_id=parse_txn_id(txn_id))
        return to_transaction(await self._call(_wire.GET, req))

    async def list(
        self,
        *,
        states: Sequence[TxState] = (),
        min_age_s: int = 0,
        page_size: int = 0,
        page_token: str = "",
        labels: Optional[Mapping[str, str]] = None,
    ) -> tuple[list[Transaction], str]:
        res = await self._call(_wire.LIST, list_request(states, min_age_s, page_size, page_token, labels))
        return [to_transaction(t) for t in res.transactions], res.next_page_token

    @contextlib.asynccontextmanager
    async def transaction(
        self, *, lease_s: Optional[float] = None, labels: Optional[Mapping[str, str]] = None
    ) -> AsyncIterator[str]:
        """Begins a transaction; commits it when the block ends, aborts it when the block raises."""
        txn_id = (await self.begin(lease_s=lease_s, labels=labels)).txn_id
        try:
            yield txn_id
        except BaseException as err:
            with contextlib.suppress(TwopcError):
                await self.abort(txn_id, f"the application raised {type(err).__name__}")
            raise
        result = await self.commit(txn_id)
        if result.outcome != Outcome.COMMITTED:
            raise TransactionAbortedError(txn_id, result.reason)


class AsyncParticipantHandlers(Protocol):
    """:class:`~twopc.ParticipantHandlers` with coroutines."""

    async def prepare(self, txn_id: str) -> Vote: ...

    async def commit(self, txn_id: str) -> None: ...

    async def abort(self, txn_id: str, reason: str) -> None: ...


async def _run(fn: Callable[..., Union[T, Awaitable[T]]], *args: Any) -> T:
    """Awaits a coroutine function; runs a blocking one in a worker thread (a psycopg or SQLite call)."""
    if inspect.iscoroutinefunction(fn):
        result: T = await fn(*args)
        return result
    return await asyncio.to_thread(fn, *args)  # type: ignore[arg-type]  # not a coroutine function here


async def _abort_call(context: Any, code: grpc.StatusCode, details: str) -> NoReturn:
    await context.abort(code, details)
    raise AssertionError("context.abort returned")


class AsyncTwopcParticipant:
    """:class:`~twopc.TwopcParticipant` for a ``grpc.aio`` server.

    Handlers may be coroutines, or blocking functions (run in a worker
    thread, so :class:`~twopc.pg.PgParticipant` serves here too); the branch
    store is called in a worker thread (its writes may wait on a disk).
    """

    def __init__(
        self,
        *,
        name: str,
        endpoint: str,
        coordinator: str | Sequence[str] | AsyncTwopcClient,
        handlers: AsyncParticipantHandlers | ParticipantHandlers,
        branches: Optional[BranchStore] = None,
        tls: Optional[TlsFiles] = None,
        token: Optional[TokenSource] = None,
        check_after_s: float = 30.0,
        check_every_s: float = 5.0,
        batched: bool = True,
    ) -> None:
        self.name = parse_name(name, "name")
        self.endpoint = endpoint
        self._batched = batched
        self._owns_client = not isinstance(coordinator, AsyncTwopcClient)
        self.client = (
            coordinator if isinstance(coordinator, AsyncTwopcClient) else AsyncTwopcClient(coordinator, tls=tls, token=token)
        )
        self._handlers = handlers
        self._branches: BranchStore = branches if branches is not None else InMemoryBranchStore()
        self._check_after_s = check_after_s
        self._check_every_s = check_every_s
        self._locks = AsyncKeyedLock()
        self._joined: dict[str, float] = {}
        self._prepared_at: dict[str, float] = {}
        self._draining = False
        self._serving = True
        self._active = 0
        self._checker: Optional[asyncio.Task[None]] = None
        self.interceptor: Any = _AsyncJoinInterceptor(self)

    @property
    def draining(self) -> bool:
        return self._draining

    def add_to(self, server: Any) -> None:
        """Registers twopc.v1.Participant and grpc.health.v1.Health on a grpc.aio server."""
        phases: dict[_wire.Method[Any, Any], Callable[[str, Any], Awaitable[Any]]] = {
            _wire.PREPARE: lambda t, r: self.prepare(t),
            _wire.PARTICIPANT_COMMIT: lambda t, r: self.commit(t, one_phase=r.one_phase),
            _wire.PARTICIPANT_ABORT: lambda t, r: self.abort(t, r.reason),
        }
        handlers = {m.name: self._phase_handler(m, fn) for m, fn in phases.items()}
        if self._batched:
            exchange = serve_exchange_async(
                {"prepare": lambda t, r: self.prepare(t), "commit": lambda t, r: self.commit(t, one_phase=r.one_phase),
                 "abort": lambda t, r: self.abort(t, r.reason)}
            )
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(BATCHED, {
                "Exchange": grpc.stream_stream_rpc_method_handler(
                    exchange, request_deserializer=ppb.ExchangeRequest.FromString, response_serializer=_wire.Method.serialize
                )
            }),))
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(_wire.PARTICIPANT, handlers),
                grpc.method_handlers_generic_handler(
                    _wire.HEALTH,
                    {
                        "Check": grpc.unary_unary_rpc_method_handler(
                            self._health_check,
                            request_deserializer=_wire.HEALTH_CHECK.request,
                            response_serializer=_wire.Method.serialize,
                        )
                    },
                ),
            )
        )

    def _phase_handler(self, method: _wire.Method[Any, Any], fn: Callable[[str, Any], Awaitable[Any]]) -> Any:
        async def serve(request: Any, context: Any) -> Any:
            try:
                txn_id = parse_txn_id(request.txn_id)
            except InvalidArgumentError as err:
                await _abort_call(context, grpc.StatusCode.INVALID_ARGUMENT, err.details)
            failure = ""
            with use_headers(headers_from_metadata(context.invocation_metadata())):
                try:
                    return await fn(txn_id, request)
                except Exception as err:  # the coordinator retries: UNAVAILABLE
                    failure = f"{method.name.lower()} failed: {err}"
            await _abort_call(context, grpc.StatusCode.UNAVAILABLE, failure)

        return grpc.unary_unary_rpc_method_handler(
            serve, request_deserializer=method.request, response_serializer=_wire.Method.serialize
        )

    async def _health_check(self, request: Any, context: Any) -> Any:
        if request.service not in ("", _wire.PARTICIPANT):
            await _abort_call(context, grpc.StatusCode.NOT_FOUND, f"unknown service '{request.service}'")
        return _wire.health_pb2.HealthCheckResponse(status="SERVING" if self._serving else "NOT_SERVING")

    async def _get(self, txn_id: str) -> Optional[BranchState]:
        return await asyncio.to_thread(self._branches.get, txn_id)

    async def _set(self, txn_id: str, state: BranchState) -> None:
        await asyncio.to_thread(self._branches.set, txn_id, state)

    async def join(self, txn: str) -> str:
        """Joins the transaction a business call names (see :meth:`twopc.TwopcParticipant.join`)."""
        txn_id = parse_txn_id(txn, TXN_ID_METADATA)
        async with self._locks.hold(txn_id):
            state = await self._get(txn_id)
            if state is not None and state != BranchState.ACTIVE:
                raise BranchAlreadyFinishedError(txn_id, state)
            if state is None:
                await self.client.enlist(txn_id, ParticipantRef(self.name, self.endpoint))
                await self._set(txn_id, BranchState.ACTIVE)
                self._joined[txn_id] = time.monotonic()
        return txn_id

    @contextlib.asynccontextmanager
    async def _phase_call(self, txn_id: str) -> AsyncIterator[None]:
        """A phase call in progress (stop() waits for it), one at a time per transaction."""
        self._joined.pop(txn_id, None)
        self._active += 1
        try:
            async with self._locks.hold(txn_id):
                yield
        finally:
            self._active -= 1

    async def prepare(self, txn_id: str) -> ppb.PrepareResponse:
        async with self._phase_call(txn_id):
            return await self._prepare(txn_id)

    async def _prepare(self, txn_id: str) -> ppb.PrepareResponse:
        state = await self._get(txn_id)
        known = _rules.prepare_known(state)
        if known is not None:
            return known
        if state is None and self._draining:
            vote = Vote.abort(_rules.DRAINING)
        else:
            try:
                vote = await _run(self._handlers.prepare, txn_id)
            except Exception as err:
                vote = Vote.abort(f"prepare failed: {err}")
        if vote.kind == "ABORT":
            with contextlib.suppress(Exception):
                await _run(self._handlers.abort, txn_id, vote.reason)
        await self._set(txn_id, _rules.NEXT_STATE[vote.kind])
        if vote.kind == "PREPARED":
            self._prepared_at[txn_id] = time.monotonic()
        return _rules.vote_response(vote)

    async def commit(self, txn_id: str, *, one_phase: bool = False) -> ppb.ParticipantCommitResponse:
        async with self._phase_call(txn_id):
            return await self._commit(txn_id, one_phase)

    async def _commit(self, txn_id: str, one_phase: bool) -> ppb.ParticipantCommitResponse:
        self._prepared_at.pop(txn_id, None)
        state = await self._get(txn_id)
        known = _rules.commit_known(state)
        if known is not None:
            return known
        if state != BranchState.PREPARED and one_phase:
            vote = await self._prepare(txn_id)
            self._prepared_at.pop(txn_id, None)
            if vote.vote == cpb.VOTE_ABORT:
                return ppb.ParticipantCommitResponse(outcome=cpb.OUTCOME_ABORTED, reason=vote.reason)
            if vote.vote == cpb.VOTE_READ_ONLY:
                return _rules.COMMITTED
        try:
            await _run(self._handlers.commit, txn_id)
        except HeuristicOutcomeError as err:
            if err.outcome != Outcome.ABORTED.value:
                raise
            await self._set(txn_id, BranchState.ABORTED)
            return ppb.ParticipantCommitResponse(outcome=cpb.OUTCOME_ABORTED, reason=str(err))
        await self._set(txn_id, BranchState.COMMITTED)
        return _rules.COMMITTED

    async def abort(self, txn_id: str, reason: str = "") -> ppb.ParticipantAbortResponse:
        async with self._phase_call(txn_id):
            return await self._abort(txn_id, reason)

    async def _abort(self, txn_id: str, reason: str) -> ppb.ParticipantAbortResponse:
        self._prepared_at.pop(txn_id, None)
        state = await self._get(txn_id)
        if state == BranchState.COMMITTED:
            return _rules.ABORT_REPORTS_COMMIT
        if state not in (BranchState.ABORTED, BranchState.READ_ONLY):
            try:
                await _run(self._handlers.abort, txn_id, reason)
            except HeuristicOutcomeError as err:
                if err.outcome != Outcome.COMMITTED.value:
                    raise
                await self._set(txn_id, BranchState.COMMITTED)
                return _rules.ABORT_REPORTS_COMMIT
        await self._set(txn_id, BranchState.ABORTED)
        return _rules.ABORTED

    async def _outcome_of(self, txn_id: str) -> tuple[Outcome, Optional[bool]]:
        try:
            tx = await self.client.get(txn_id)
        except TxNotFoundError:
            return Outcome.ABORTED, False
        except TwopcError:
            return Outcome.PENDING, None
        return tx.outcome, any(p.name == self.name for p in tx.participants)

    async def recover_in_doubt(self) -> int:
        """See :meth:`twopc.TwopcParticipant.recover_in_doubt`."""
        due = time.monotonic() - self._check_after_s
        for txn_id in [t for t, at in self._joined.items() if at <= due]:
            outcome, listed = await self._outcome_of(txn_id)
            if listed is False and outcome != Outcome.COMMITTED and self._joined.pop(txn_id, None) is not None:
                await self.abort(txn_id, "abandoned: the transaction ended without this branch")
        pending = 0
        for txn_id in await asyncio.to_thread(self._branches.list_prepared):
            at = self._prepared_at.get(txn_id)
            if at is not None and at > due:
                pending += 1
                continue
            if await self._get(txn_id) == BranchState.ABORTED:
                # Still prepared though this branch voted ABORT or was told to
                # abort: the rollback failed. Rolled back again.
                async with self._locks.hold(txn_id):
                    await _run(self._handlers.abort, txn_id, "rolled back again")
                continue
            outcome, _ = await self._outcome_of(txn_id)
            if outcome == Outcome.COMMITTED:
                async with self._locks.hold(txn_id):
                    await self._commit(txn_id, False)
            elif outcome == Outcome.ABORTED:
                async with self._locks.hold(txn_id):
                    await self._abort(txn_id, "resolved with the coordinator")
            else:
                pending += 1
        return pending

    def start(self) -> None:
        """Starts the background check (a task of the running loop)."""
        if self._checker is not None or self._check_every_s <= 0:
            return

        async def run() -> None:
            while True:
                with contextlib.suppress(Exception):
                    await self.recover_in_doubt()
                await asyncio.sleep(self._check_every_s)

        self._checker = asyncio.get_running_loop().create_task(run())

    def in_progress(self) -> int:
        return len(self._joined) + len(self._prepared_at) + self._active

    async def stop(self, server: Any = None, grace_s: float = 10.0) -> None:
        """Drains (see :meth:`twopc.TwopcParticipant.stop`), stops the server, closes the client."""
        self._draining = True
        deadline = time.monotonic() + grace_s
        while self.in_progress() > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self._serving = False
        if server is not None:
            # Drained: what is left are health checks and the coordinator's
            # batched stream, which would hold the stop for the whole grace.
            await server.stop(min(1.0, max(0.0, deadline - time.monotonic())))
        await self.close()

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
            self._checker = None
        if self._owns_client:
            await self.client.close()


class _AsyncJoinInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type stubs
    """Joins the transaction of a business call that carries ``twopc-txn-id`` before its handler runs."""

    def __init__(self, participant: AsyncTwopcParticipant) -> None:
        self._p = participant

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or not is_business_method(details.method):
            return handler
        txn = txn_of(details.invocation_metadata)
        if txn is None and not self._p.draining:
            return handler
        if handler.unary_unary is None:
            return handler  # streaming business calls join with participant.join() themselves
        trace = headers_from_metadata(details.invocation_metadata)
        p = self._p
        behavior = handler.unary_unary

        async def run(request: Any, context: Any) -> Any:
            if p.draining:
                await _abort_call(context, grpc.StatusCode.UNAVAILABLE, f"participant '{p.name}' is stopping; retry elsewhere")
            txn_id: Optional[str] = None
            if txn is not None:
                problem: Optional[TwopcError] = None
                with use_headers(trace):
                    try:
                        txn_id = await p.join(txn)
                    except TwopcError as err:
                        problem = err
                if problem is not None:
                    await _abort_call(context, status_of_join_failure(problem), f"cannot join transaction: {problem.details}")
            token = _current_txn.set(txn_id)
            try:
                with use_headers(trace):
                    return await behavior(request, context)
            finally:
                _current_txn.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            run, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )
