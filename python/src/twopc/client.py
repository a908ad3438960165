"""A client of the coordinator for applications: begin, enlist, heartbeat, commit, abort, get, list."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator, Mapping, Optional, Sequence, TypeVar

import grpc

from . import _wire
from ._retry import CallDeadline, retry_delay_s
from .credentials import TlsFiles, TokenSource, channel_credentials
from .errors import TwopcError, error_from_rpc
from .ids import parse_txn_id
from .model import (
    BeginResult,
    Outcome,
    OutcomeResult,
    ParticipantRef,
    Transaction,
    TxState,
    to_datetime,
    to_outcome,
    to_state,
    to_transaction,
)
from .tracing import trace_headers
from .v1 import coordinator_pb2 as pb

Req = TypeVar("Req")
Res = TypeVar("Res")

DEFAULT_CALL_TIMEOUT_S = 10.0
DEFAULT_ATTEMPTS = 5


def coordinator_target(address: str | Sequence[str]) -> str:
    """The gRPC target for one coordinator (host:port, or a target such as dns:///name:port) or several IPs.

    :raises ValueError: for no address, or a list that names hosts
    """
    if isinstance(address, str):
        if address == "":
            raise ValueError("no coordinator address: give host:port, such as 127.0.0.1:50051")
        return address
    if len(address) == 1:
        return address[0]
    if len(address) == 0 or any(not a[: a.rfind(":")].replace(".", "").isdigit() for a in address):
        raise ValueError(
            "several coordinators are given as IPv4 addresses (host:port), or as one DNS name with "
            "several records (dns:///name:port)"
        )
    return "ipv4:" + ",".join(address)


def open_channel(
    address: str | Sequence[str],
    tls: Optional[TlsFiles],
    token: Optional[TokenSource],
    credentials: Optional[grpc.ChannelCredentials],
    aio: bool,
) -> Any:
    """A channel (sync or asyncio) to the coordinator with this package's settings."""
    target = coordinator_target(address)
    creds = credentials if credentials is not None else channel_credentials(tls, token)
    module: Any = grpc.aio if aio else grpc
    if creds is None:
        return module.insecure_channel(target, options=_wire.CHANNEL_OPTIONS)
    return module.secure_channel(target, creds, options=_wire.CHANNEL_OPTIONS)


def begin_request(
    lease_s: Optional[float], labels: Optional[Mapping[str, str]], participants: Sequence[ParticipantRef]
) -> pb.BeginRequest:
    return pb.BeginRequest(
        timeout_ms=0 if lease_s is None else round(lease_s * 1000),
        labels=dict(labels or {}),
        participants=[pb.ParticipantRef(name=p.name, endpoint=p.endpoint) for p in participants],
    )


def begin_result(res: pb.BeginResponse) -> BeginResult:
    return BeginResult(res.txn_id, to_datetime(res.lease_expires_at, res.HasField("lease_expires_at")))


def outcome_result(res: pb.CommitResponse | pb.AbortResponse) -> OutcomeResult:
    return OutcomeResult(to_outcome(res.outcome), res.reason, to_state(res.state))


def commit_result(txn_id: str, res: pb.CommitResponse) -> OutcomeResult:
    """Commit's answer; a coordinator answers only once the decision is durable.

    :raises TwopcError: for an answer without a decision (ask get())
    """
    result = outcome_result(res)
    if result.outcome == Outcome.PENDING:
        raise TwopcError(f"the coordinator answered Commit of {txn_id} without a decision ({result.state.value}); ask get()")
    return result


def list_request(
    states: Sequence[TxState], min_age_s: int, page_size: int, page_token: str, labels: Optional[Mapping[str, str]]
) -> pb.ListTransactionsRequest:
    return pb.ListTransactionsRequest(
        states=[pb.TransactionState.Value(f"TRANSACTION_STATE_{s.value}") for s in states],
        min_age_seconds=min_age_s,
        page_size=page_size,
        page_token=page_token,
        labels=dict(labels or {}),
    )


class TwopcClient:
    """A typed, blocking client of the coordinator.

    Calls failing with UNAVAILABLE (the coordinator restarting, its log
    briefly away) are retried with backoff, and RESOURCE_EXHAUSTED after the
    coordinator's hint: every twopc call is safe to repeat. Retries stay
    within the call's deadline (``call_timeout_s``, or a call's own
    ``timeout_s``): no retry starts past it. A failure raises
    a :class:`~twopc.errors.TwopcError` subclass carrying the TWOPC_* code.
    Every call carries the W3C trace context (see :mod:`twopc.tracing`).

    Use it as a context manager, or call :meth:`close`.
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
        self._channel: grpc.Channel = open_channel(address, tls, token, credentials, aio=False)
        self._timeout_s = call_timeout_s
        self._attempts = attempts

    def __enter__(self) -> "TwopcClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: _wire.Method[Req, Res], request: Req, timeout_s: Optional[float] = None) -> Res:
        stub = self._channel.unary_unary(
            method.path, request_serializer=_wire.Method.serialize, response_deserializer=method.response
        )
        deadline = CallDeadline(timeout_s or self._timeout_s)
        for attempt in range(1, self._attempts + 1):
            try:
                res: Res = stub(request, timeout=deadline.remaining_s(), metadata=trace_headers())
                return res
            except grpc.RpcError as err:
                typed = error_from_rpc(err)
                delay = retry_delay_s(typed, attempt)
                if delay is None or attempt >= self._attempts or not deadline.allows(delay):
                    raise typed from err
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def begin(
        self,
        *,
        lease_s: Optional[float] = None,
        labels: Optional[Mapping[str, str]] = None,
        participants: Sequence[ParticipantRef] = (),
    ) -> BeginResult:
        """Starts a transaction with a lease (the coordinator's default when None) and optional labels."""
        return begin_result(self._call(_wire.BEGIN, begin_request(lease_s, labels, participants)))

    def enlist(self, txn_id: str, participant: ParticipantRef) -> bool:
        """Enlists a participant (idempotent per name); True when it was newly enlisted."""
        req = pb.EnlistRequest(
            txn_id=parse_txn_id(txn_id),
            participant=pb.ParticipantRef(name=participant.name, endpoint=participant.endpoint),
        )
        return bool(self._call(_wire.ENLIST, req).newly_enlisted)

    def heartbeat(self, txn_id: str, extend_s: float = 0) -> TxState:
        """Extends the lease of an ACTIVE transaction (0: by the lease given at begin); returns its state."""
        res = self._call(_wire.HEARTBEAT, pb.HeartbeatRequest(txn_id=parse_txn_id(txn_id), extend_ms=round(extend_s * 1000)))
        return to_state(res.state)

    def commit(self, txn_id: str, *, wait_for_acks: bool = False, timeout_s: Optional[float] = None) -> OutcomeResult:
        """Commits: returns COMMITTED or ABORTED (with the reason) once the decision is durable."""
        req = pb.CommitRequest(txn_id=parse_txn_id(txn_id), wait_for_acks=wait_for_acks)
        return commit_result(txn_id, self._call(_wire.COMMIT, req, timeout_s))

    def abort(self, txn_id: str, reason: str = "") -> OutcomeResult:
        """Aborts a transaction that has no commit decision.

        :raises InvalidTransitionError: after a commit decision
        """
        return outcome_result(self._call(_wire.ABORT, pb.AbortRequest(txn_id=parse_txn_id(txn_id), reason=reason)))

    def get(self, txn_id: str) -> Transaction:
        """One transaction as the coordinator's log shows it.

        :raises TxNotFoundError: when the log does not know it (presumed aborted)
        """
        return to_transaction(self._call(_wire.GET, pb.GetTransactionRequest(txn_id=parse_txn_id(txn_id))))

    def list(
        self,
        *,
        states: Sequence[TxState] = (),
        min_age_s: int = 0,
        page_size: int = 0,
        page_token: str = "",
        labels: Optional[Mapping[str, str]] = None,
    ) -> tuple[list[Transaction], str]:
        """The caller's transactions, newest first, and the next page's token ('' at the end)."""
        res = self._call(_wire.LIST, list_request(states, min_age_s, page_size, page_token, labels))
        return [to_transaction(t) for t in res.transactions], res.next_page_token

    @contextlib.contextmanager
    def transaction(self, *, lease_s: Optional[float] = None, labels: Optional[Mapping[str, str]] = None) -> Iterator[str]:
        """Begins a transaction; commits it when the block ends, aborts it when the block raises.

        Yields the transaction id (pass it on with :func:`twopc.txn_metadata`).

        :raises TransactionAbortedError: when the commit ends ABORTED
        """
        txn_id = self.begin(lease_s=lease_s, labels=labels).txn_id
        try:
            yield txn_id
        except BaseException as err:
            with contextlib.suppress(TwopcError):
                self.abort(txn_id, f"the application raised {type(err).__name__}")
            raise
        result = self.commit(txn_id)
        if result.outcome != Outcome.COMMITTED:
            raise TransactionAbortedError(txn_id, result.reason)


class TransactionAbortedError(TwopcError):
    """Commit ended ABORTED (a participant voted ABORT, the lease expired...): an outcome, raised by transaction()."""

    def __init__(self, txn_id: str, reason: str) -> None:
        super().__init__(f"transaction {txn_id} aborted: {reason}")
        self.txn_id = txn_id
        self.reason = reason
