"""A participant service on grpc's threaded server: serves twopc.v1.Participant and health, joins callers' transactions.

The application gives three handlers (prepare, commit, abort); the helper
keeps the branch record, dedupes phase 2, acknowledges an Abort that comes
before the Prepare and then refuses that Prepare (suspension), enlists the
service when a business call carries ``twopc-txn-id``, asks the coordinator
about branches left in doubt, and drains on stop.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from concurrent import futures
from typing import Any, Callable, Iterator, NoReturn, Optional, Protocol, Sequence, TypeVar

import grpc

from . import _rules, _wire
from ._exchange import BATCHED, serve_exchange_sync
from ._keyed import KeyedLock
from ._rules import Vote
from .branch_store import BranchState, BranchStore, InMemoryBranchStore
from .client import TwopcClient
from .credentials import TlsFiles, TokenSource
from .errors import (
    HeuristicOutcomeError,
    InvalidArgumentError,
    TwopcError,
    TxNotFoundError,
    UnavailableError,
)
from .ids import TXN_ID_METADATA, parse_name, parse_txn_id
from .model import Outcome, ParticipantRef
from .tracing import headers_from_metadata, use_headers
from .v1 import coordinator_pb2 as cpb
from .v1 import participant_pb2 as ppb

Req = TypeVar("Req")
Res = TypeVar("Res")

_current_txn: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("twopc_txn_id", default=None)


def current_txn_id() -> Optional[str]:
    """The transaction the business call being served joined (None outside one)."""
    return _current_txn.get()


class ParticipantHandlers(Protocol):
    """What the application implements; the helper does the bookkeeping."""

    def prepare(self, txn_id: str) -> Vote:
        """Make the branch's work durable and vote. Raising counts as an ABORT vote."""
        ...

    def commit(self, txn_id: str) -> None:
        """Commit prepared work; idempotent (called again for a branch a restart forgot).

        Raise :class:`~twopc.errors.HeuristicRollbackError` if the branch was rolled back outside twopc.
        """
        ...

    def abort(self, txn_id: str, reason: str) -> None:
        """Roll the branch's work back, prepared or not; idempotent.

        Raise :class:`~twopc.errors.HeuristicCommitError` if it was committed outside twopc.
        """
        ...


def abort_call(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> NoReturn:
    """Ends the call with a status (grpc's context.abort raises; said here for the type checker)."""
    context.abort(code, details)
    raise AssertionError("context.abort returned")


def status_of_join_failure(err: TwopcError) -> grpc.StatusCode:
    """The status a business call gets when its transaction cannot be joined."""
    if isinstance(err, InvalidArgumentError):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(err, UnavailableError):
        return grpc.StatusCode.UNAVAILABLE
    return grpc.StatusCode.FAILED_PRECONDITION


def is_business_method(method: str) -> bool:
    return not method.startswith(("/twopc.v1.", "/grpc.health.v1.", "/grpc.reflection."))


def txn_of(metadata: Optional[Sequence[tuple[str, Any]]]) -> Optional[str]:
    for key, value in metadata or ():
        if key == TXN_ID_METADATA:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


class BranchAlreadyFinishedError(TwopcError):
    """A business call names a transaction whose branch here already voted or ended."""

    def __init__(self, txn_id: str, state: BranchState) -> None:
        super().__init__(f"transaction {txn_id} is already {state.value} here")
        self.txn_id = txn_id
        self.state = state


class TwopcParticipant:
    """Serves twopc.v1.Participant and grpc.health.v1 for an application on a ``grpc.server``.

    ::

        participant = TwopcParticipant(name="inventory", endpoint="127.0.0.1:50063",
                                       coordinator="127.0.0.1:50051", handlers=handlers)
        server = grpc.server(ThreadPoolExecutor(16), interceptors=[participant.interceptor])
        participant.add_to(server)
        ... add the business services, bind, server.start() ...
        participant.start()      # in-doubt branches of an earlier run, then every check_every_s
        ...
        participant.stop(server) # drain, then stop the server
    """

    def __init__(
        self,
        *,
        name: str,
        endpoint: str,
        coordinator: str | Sequence[str] | TwopcClient,
        handlers: ParticipantHandlers,
        branches: Optional[BranchStore] = None,
        tls: Optional[TlsFiles] = None,
        token: Optional[TokenSource] = None,
        check_after_s: float = 30.0,
        check_every_s: float = 5.0,
        batched: bool = True,
    ) -> None:
        self.name = parse_name(name, "name")
        #: The address the coordinator reaches this service at (may be set once the port is bound).
        self.endpoint = endpoint
        self._owns_client = not isinstance(coordinator, TwopcClient)
        self.client = coordinator if isinstance(coordinator, TwopcClient) else TwopcClient(coordinator, tls=tls, token=token)
        self._handlers = handlers
        self._branches: BranchStore = branches if branches is not None else InMemoryBranchStore()
        self._check_after_s = check_after_s
        self._check_every_s = check_every_s
        self._locks = KeyedLock()
        self._guard = threading.Lock()
        # Branches joined and not yet prepared or told; prepared here and not yet told (monotonic times).
        self._joined: dict[str, float] = {}
        self._prepared_at: dict[str, float] = {}
        self._draining = False
        self._serving = True
        self._active = 0
        self._stopped = threading.Event()
        self._checker: Optional[threading.Thread] = None
        self._batched = batched
        self._workers: Optional[futures.ThreadPoolExecutor] = None
        self.interceptor: grpc.ServerInterceptor = _JoinInterceptor(self)

    # Serving

    def add_to(self, server: grpc.Server) -> None:
        """Registers twopc.v1.Participant and grpc.health.v1.Health on a server, and
        twopc.v1.BatchedParticipant unless ``batched=False`` (the coordinator then sends the
        phase calls of many transactions in batches on one stream)."""
        phases: dict[_wire.Method[Any, Any], Callable[[str, Any], Any]] = {
            _wire.PREPARE: lambda t, r: self.prepare(t),
            _wire.PARTICIPANT_COMMIT: lambda t, r: self.commit(t, one_phase=r.one_phase),
            _wire.PARTICIPANT_ABORT: lambda t, r: self.abort(t, r.reason),
        }
        handlers = {m.name: self._phase_handler(m, fn) for m, fn in phases.items()}
        if self._batched:
            self._workers = self._workers or futures.ThreadPoolExecutor(16, thread_name_prefix=f"twopc-{self.name}")
            exchange = serve_exchange_sync(
                {"prepare": lambda t, r: self.prepare(t), "commit": lambda t, r: self.commit(t, one_phase=r.one_phase),
                 "abort": lambda t, r: self.abort(t, r.reason)},
                self._workers,
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

    def _phase_handler(self, method: _wire.Method[Any, Any], fn: Callable[[str, Any], Any]) -> grpc.RpcMethodHandler:
        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                txn_id = parse_txn_id(request.txn_id)
            except InvalidArgumentError as err:
                abort_call(context, grpc.StatusCode.INVALID_ARGUMENT, err.details)
            failure: Optional[str] = None
            with use_headers(headers_from_metadata(context.invocation_metadata())):
                try:
                    return fn(txn_id, request)
                except Exception as err:  # the coordinator retries: UNAVAILABLE
                    failure = f"{method.name.lower()} failed: {err}"
            abort_call(context, grpc.StatusCode.UNAVAILABLE, failure)

        return grpc.unary_unary_rpc_method_handler(
            serve, request_deserializer=method.request, response_serializer=_wire.Method.serialize
        )

    def _health_check(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.service not in ("", _wire.PARTICIPANT):
            abort_call(context, grpc.StatusCode.NOT_FOUND, f"unknown service '{request.service}'")
        status = "SERVING" if self._serving else "NOT_SERVING"
        return _wire.health_pb2.HealthCheckResponse(status=status)

    # Joining

    def join(self, txn: str) -> str:
        """Joins the transaction a business call names: enlists this service once per transaction.

        :raises InvalidArgumentError: for a malformed id
        :raises BranchAlreadyFinishedError: when the branch here already voted or ended
        :raises TwopcError: when the coordinator refuses the Enlist (the transaction ended...)
        """
        txn_id = parse_txn_id(txn, TXN_ID_METADATA)
        with self._locks.hold(txn_id):
            state = self._branches.get(txn_id)
            if state is not None and state != BranchState.ACTIVE:
                raise BranchAlreadyFinishedError(txn_id, state)
            if state is None:
                self.client.enlist(txn_id, ParticipantRef(self.name, self.endpoint))
                self._branches.set(txn_id, BranchState.ACTIVE)
                with self._guard:
                    self._joined[txn_id] = time.monotonic()
        return txn_id

    @property
    def draining(self) -> bool:
        return self._draining

    # Phases (one at a time per transaction)

    def _told(self, txn_id: str) -> None:
        with self._guard:
            self._joined.pop(txn_id, None)

    @contextlib.contextmanager
    def _phase_call(self, txn_id: str) -> Iterator[None]:
        """A phase call in progress (stop() waits for it), one at a time per transaction."""
        self._told(txn_id)
        with self._guard:
            self._active += 1
        try:
            with self._locks.hold(txn_id):
                yield
        finally:
            with self._guard:
                self._active -= 1

    def prepare(self, txn_id: str) -> ppb.PrepareResponse:
        """Phase 1 for a validated id (what the Prepare call runs)."""
        with self._phase_call(txn_id):
            return self._prepare(txn_id)

    def _prepare(self, txn_id: str) -> ppb.PrepareResponse:
        state = self._branches.get(txn_id)
        known = _rules.prepare_known(state)
        if known is not None:
            return known
        if state is None and self._draining:
            vote = Vote.abort(_rules.DRAINING)
        else:
            try:
                vote = self._handlers.prepare(txn_id)
            except Exception as err:
                vote = Vote.abort(f"prepare failed: {err}")
        if vote.kind == "ABORT":
            try:
                self._handlers.abort(txn_id, vote.reason)
            except Exception:
                pass  # the vote is ABORT either way; the work is rolled back by its own failure
        self._branches.set(txn_id, _rules.NEXT_STATE[vote.kind])
        if vote.kind == "PREPARED":
            with self._guard:
                self._prepared_at[txn_id] = time.monotonic()
        return _rules.vote_response(vote)

    def commit(self, txn_id: str, *, one_phase: bool = False) -> ppb.ParticipantCommitResponse:
        """Phase 2, commit, for a validated id."""
        with self._phase_call(txn_id):
            return self._commit(txn_id, one_phase)

    def _commit(self, txn_id: str, one_phase: bool) -> ppb.ParticipantCommitResponse:
        with self._guard:
            self._prepared_at.pop(txn_id, None)
        state = self._branches.get(txn_id)
        known = _rules.commit_known(state)
        if known is not None:
            return known
        if state != BranchState.PREPARED and one_phase:
            vote = self._prepare(txn_id)
            if vote.vote == cpb.VOTE_ABORT:
                return ppb.ParticipantCommitResponse(outcome=cpb.OUTCOME_ABORTED, reason=vote.reason)
            if vote.vote == cpb.VOTE_READ_ONLY:
                return _rules.COMMITTED
            with self._guard:
                self._prepared_at.pop(txn_id, None)
        # A branch the record does not know (lost across a restart) is still
        # committed by the handler: it holds the truth about its work.
        try:
            self._handlers.commit(txn_id)
        except HeuristicOutcomeError as err:
            if err.outcome != Outcome.ABORTED.value:
                raise
            self._branches.set(txn_id, BranchState.ABORTED)
            return ppb.ParticipantCommitResponse(outcome=cpb.OUTCOME_ABORTED, reason=str(err))
        self._branches.set(txn_id, BranchState.COMMITTED)
        return _rules.COMMITTED

    def abort(self, txn_id: str, reason: str = "") -> ppb.ParticipantAbortResponse:
        """Phase 2 (or before Prepare), abort, for a validated id."""
        with self._phase_call(txn_id):
            return self._abort(txn_id, reason)

    def _abort(self, txn_id: str, reason: str) -> ppb.ParticipantAbortResponse:
        with self._guard:
            self._prepared_at.pop(txn_id, None)
        state = self._branches.get(txn_id)
        if state == BranchState.COMMITTED:
            return _rules.ABORT_REPORTS_COMMIT
        if state not in (BranchState.ABORTED, BranchState.READ_ONLY):
            try:
                self._handlers.abort(txn_id, reason)
            except HeuristicOutcomeError as err:
                if err.outcome != Outcome.COMMITTED.value:
                    raise
                self._branches.set(txn_id, BranchState.COMMITTED)
                return _rules.ABORT_REPORTS_COMMIT
        # Unknown here too: an empty rollback, remembered so that a late
        # Prepare is refused (suspension).
        self._branches.set(txn_id, BranchState.ABORTED)
        return _rules.ABORTED

    # In-doubt branches

    def _outcome_of(self, txn_id: str) -> tuple[Outcome, Optional[bool]]:
        """The log's outcome, and whether this service is listed (None: the coordinator is away)."""
        try:
            tx = self.client.get(txn_id)
        except TxNotFoundError:
            return Outcome.ABORTED, False  # presumed abort
        except TwopcError:
            return Outcome.PENDING, None
        return tx.outcome, any(p.name == self.name for p in tx.participants)

    def recover_in_doubt(self) -> int:
        """Finishes branches left PREPARED (by an earlier run, or here longer than check_after_s) as the coordinator says.

        Also rolls back joined branches nobody prepared for check_after_s whose
        transaction does not include this service (an Enlist lost with the
        log's crash, an unknown transaction). Returns how many prepared
        branches are still pending.
        """
        now = time.monotonic()
        due = now - self._check_after_s
        with self._guard:
            abandoned = [t for t, at in self._joined.items() if at <= due]
        for txn_id in abandoned:
            outcome, listed = self._outcome_of(txn_id)
            if listed is False and (outcome != Outcome.COMMITTED):
                with self._guard:
                    still = self._joined.pop(txn_id, None) is not None
                if still:
                    self.abort(txn_id, "abandoned: the transaction ended without this branch")
        pending = 0
        for txn_id in self._branches.list_prepared():
            with self._guard:
                at = self._prepared_at.get(txn_id)
            if at is not None and at > due:
                pending += 1  # prepared here a moment ago: phase 2 is on its way
                continue
            if self._branches.get(txn_id) == BranchState.ABORTED:
                # Still prepared in the database though this branch voted ABORT
                # or was told to abort: the rollback failed (the connection lost
                # during its PREPARE, the database down). Rolled back again.
                with self._locks.hold(txn_id):
                    self._handlers.abort(txn_id, "rolled back again")
                continue
            outcome, _ = self._outcome_of(txn_id)
            if outcome == Outcome.COMMITTED:
                with self._locks.hold(txn_id):
                    self._commit(txn_id, False)
            elif outcome == Outcome.ABORTED:
                with self._locks.hold(txn_id):
                    self._abort(txn_id, "resolved with the coordinator")
            else:
                pending += 1
        return pending

    def start(self) -> None:
        """Starts the background check: branches of an earlier run at once, then every check_every_s."""
        if self._checker is not None or self._check_every_s <= 0:
            return

        def run() -> None:
            while not self._stopped.is_set():
                try:
                    self.recover_in_doubt()
                except Exception:
                    pass  # the coordinator away, a store hiccup: asked again next time
                self._stopped.wait(self._check_every_s)

        self._checker = threading.Thread(target=run, name=f"twopc-{self.name}-check", daemon=True)
        self._checker.start()

    def in_progress(self) -> int:
        """Branches of this process that the coordinator has yet to finish (joined, or prepared and not told)."""
        with self._guard:
            return len(self._joined) + len(self._prepared_at) + self._active

    def stop(self, server: Optional[grpc.Server] = None, grace_s: float = 10.0) -> None:
        """Drains, then stops: new business calls are refused (UNAVAILABLE), a Prepare of a
        transaction not joined here votes ABORT, and the branches in progress get up to
        ``grace_s`` to be prepared and told; then the server stops and the client closes."""
        self._draining = True
        deadline = time.monotonic() + grace_s
        while self.in_progress() > 0 and time.monotonic() < deadline:
            self._stopped.wait(0.05)
        self._serving = False
        self._stopped.set()
        if server is not None:
            # Drained: what is left are health checks and the coordinator's
            # batched stream, which would hold the stop for the whole grace.
            server.stop(min(1.0, max(0.0, deadline - time.monotonic()))).wait()
        if self._checker is not None:
            self._checker.join()
        self.close()

    def close(self) -> None:
        self._stopped.set()
        if self._workers is not None:
            self._workers.shutdown(wait=False)
        if self._owns_client:
            self.client.close()


class _JoinInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type stubs
    """Joins the transaction of a business call that carries ``twopc-txn-id`` before its handler runs."""

    def __init__(self, participant: TwopcParticipant) -> None:
        self._p = participant

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or not is_business_method(details.method):
            return handler
        txn = txn_of(details.invocation_metadata)
        if txn is None and not self._p.draining:
            return handler
        trace = headers_from_metadata(details.invocation_metadata)
        p = self._p

        def enter(context: grpc.ServicerContext) -> Optional[str]:
            if p.draining:
                abort_call(context, grpc.StatusCode.UNAVAILABLE, f"participant '{p.name}' is stopping; retry elsewhere")
            if txn is None:
                return None
            problem: Optional[TwopcError] = None
            with use_headers(trace):
                try:
                    return p.join(txn)
                except TwopcError as err:
                    problem = err
            abort_call(context, status_of_join_failure(problem), f"cannot join transaction: {problem.details}")

        def wrap(behavior: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                txn_id = enter(context)
                token = _current_txn.set(txn_id)
                try:
                    with use_headers(trace):
                        return behavior(request, context)
                finally:
                    _current_txn.reset(token)

            return run

        for kind, factory in (
            ("unary_unary", grpc.unary_unary_rpc_method_handler),
            ("unary_stream", grpc.unary_stream_rpc_method_handler),
            ("stream_unary", grpc.stream_unary_rpc_method_handler),
            ("stream_stream", grpc.stream_stream_rpc_method_handler),
        ):
            behavior = getattr(handler, kind)
            if behavior is not None:
                return factory(
                    wrap(behavior),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler
