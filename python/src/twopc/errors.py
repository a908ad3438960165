"""Errors of the coordinator as typed exceptions, by the `twopc-error-code` trailer it sends."""

from __future__ import annotations

import enum
from typing import Optional

import grpc

ERROR_CODE_METADATA = "twopc-error-code"
"""The trailer in which the coordinator names the error (a TWOPC_* code)."""

RETRY_PUSHBACK_METADATA = "grpc-retry-pushback-ms"
"""The trailer that says how long to wait before a retry (gRPC retry pushback)."""


class ErrorCode(str, enum.Enum):
    """The coordinator's stable error codes (the README's table says what each means)."""

    INVALID_ARGUMENT = "TWOPC_INVALID_ARGUMENT"
    TX_NOT_FOUND = "TWOPC_TX_NOT_FOUND"
    INVALID_TRANSITION = "TWOPC_INVALID_TRANSITION"
    PARTICIPANT_CONFLICT = "TWOPC_PARTICIPANT_CONFLICT"
    STORE_UNAVAILABLE = "TWOPC_STORE_UNAVAILABLE"
    STORE_BUSY = "TWOPC_STORE_BUSY"
    STORE_REFUSED_DATA = "TWOPC_STORE_REFUSED_DATA"
    SHUTTING_DOWN = "TWOPC_SHUTTING_DOWN"
    DEADLINE_EXCEEDED = "TWOPC_DEADLINE_EXCEEDED"
    PARTICIPANT_UNAVAILABLE = "TWOPC_PARTICIPANT_UNAVAILABLE"
    UNAUTHENTICATED = "TWOPC_UNAUTHENTICATED"
    PERMISSION_DENIED = "TWOPC_PERMISSION_DENIED"
    ENDPOINT_NOT_ALLOWED = "TWOPC_ENDPOINT_NOT_ALLOWED"
    LIMIT_EXCEEDED = "TWOPC_LIMIT_EXCEEDED"
    INTERNAL = "TWOPC_INTERNAL"


class TwopcError(Exception):
    """Base of every error this package raises.

    ``code`` is the coordinator's TWOPC_* code (None when the call failed
    before the coordinator answered, or the error is this package's own);
    ``status`` the gRPC status; ``details`` the coordinator's message.
    """

    #: Whether repeating the same call later can succeed.
    retryable = False

    def __init__(
        self,
        details: str,
        *,
        code: Optional[ErrorCode] = None,
        status: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
        retry_after_s: Optional[float] = None,
    ) -> None:
        super().__init__(details if code is None else f"{code.value}: {details}")
        self.details = details
        self.code = code
        self.status = status
        #: How long the coordinator asked to wait before a retry, when it said.
        self.retry_after_s = retry_after_s


class InvalidArgumentError(TwopcError):
    """A request field is malformed or over a limit: fix the call, do not retry it."""


class TxNotFoundError(TwopcError):
    """The coordinator does not know the transaction: treat it as aborted (presumed abort)."""


class InvalidTransitionError(TwopcError):
    """The request does not fit the transaction's state (enlist after Commit, abort after a commit decision)."""


class ParticipantConflictError(TwopcError):
    """A participant name is already enlisted in the transaction with another endpoint."""


class UnavailableError(TwopcError):
    """The coordinator, or its log, cannot answer now; the call is safe to repeat."""

    retryable = True


class StoreUnavailableError(UnavailableError):
    """The coordinator's log is unreachable: it fails closed. Retry later."""


class ShuttingDownError(UnavailableError):
    """The coordinator is stopping: retry (on another instance)."""


class ParticipantUnavailableError(UnavailableError):
    """A participant could not be reached or failed a call."""


class ResourceExhaustedError(TwopcError):
    """The coordinator sheds new work; retry after ``retry_after_s`` when it is set."""

    retryable = True


class StoreBusyError(ResourceExhaustedError):
    """The coordinator's log is overloaded and takes no new work for now."""


class LimitExceededError(ResourceExhaustedError):
    """An admission cap is reached."""


class StoreRefusedDataError(InvalidArgumentError):
    """The log refused the call's data (text PostgreSQL cannot hold): the same call fails again."""


class DeadlineExceededError(TwopcError):
    """The call's deadline passed before the answer was known: ask GetTransaction for the outcome."""

    retryable = True


class UnauthenticatedError(TwopcError):
    """The call carries no valid identity (client certificate or bearer token)."""


class PermissionDeniedError(TwopcError):
    """The caller is known but may not make this call."""


class EndpointNotAllowedError(PermissionDeniedError):
    """A participant endpoint outside the operator's registry: never dialled."""


class InternalError(TwopcError):
    """The coordinator failed unexpectedly (its log says why)."""


_BY_CODE: dict[ErrorCode, type[TwopcError]] = {
    ErrorCode.INVALID_ARGUMENT: InvalidArgumentError,
    ErrorCode.TX_NOT_FOUND: TxNotFoundError,
    ErrorCode.INVALID_TRANSITION: InvalidTransitionError,
    ErrorCode.PARTICIPANT_CONFLICT: ParticipantConflictError,
    ErrorCode.STORE_UNAVAILABLE: StoreUnavailableError,
    ErrorCode.STORE_BUSY: StoreBusyError,
    ErrorCode.STORE_REFUSED_DATA: StoreRefusedDataError,
    ErrorCode.SHUTTING_DOWN: ShuttingDownError,
    ErrorCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    ErrorCode.PARTICIPANT_UNAVAILABLE: ParticipantUnavailableError,
    ErrorCode.UNAUTHENTICATED: UnauthenticatedError,
    ErrorCode.PERMISSION_DENIED: PermissionDeniedError,
    ErrorCode.ENDPOINT_NOT_ALLOWED: EndpointNotAllowedError,
    ErrorCode.LIMIT_EXCEEDED: LimitExceededError,
    ErrorCode.INTERNAL: InternalError,
}

# A status without a twopc code: the call never reached the coordinator's
# handlers (connection refused, deadline passed on the way, a proxy).
_BY_STATUS: dict[grpc.StatusCode, type[TwopcError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: TxNotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidTransitionError,
    grpc.StatusCode.ALREADY_EXISTS: ParticipantConflictError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def _trailer(metadata: object, key: str) -> Optional[str]:
    for item in metadata or ():  # type: ignore[attr-defined]  # a sequence of (key, value)
        if item[0] == key:
            value = item[1]
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def error_from_status(
    status: grpc.StatusCode, details: str, trailers: object = ()
) -> TwopcError:
    """The typed exception for a failed call, by its TWOPC_* trailer, else by its status."""
    raw = _trailer(trailers, ERROR_CODE_METADATA)
    code: Optional[ErrorCode]
    try:
        code = ErrorCode(raw) if raw is not None else None
    except ValueError:
        code = None  # a code newer than this package: classified by status
    cls = _BY_CODE.get(code) if code is not None else None
    if cls is None:
        cls = _BY_STATUS.get(status, TwopcError)
    pushback = _trailer(trailers, RETRY_PUSHBACK_METADATA)
    retry_after = None
    if pushback is not None and pushback.isdigit():
        retry_after = int(pushback) / 1000
    return cls(details, code=code, status=status, retry_after_s=retry_after)


def error_from_rpc(err: grpc.RpcError) -> TwopcError:
    """The typed exception for a grpc.RpcError (of a sync or an asyncio call); the RpcError is its cause."""
    call = err  # grpc.RpcError raised by a call is also a grpc.Call / aio.AioRpcError
    status = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
    details = (call.details() if hasattr(call, "details") else None) or str(err)
    trailers = call.trailing_metadata() if hasattr(call, "trailing_metadata") else ()
    typed = error_from_status(status, details, trailers)
    typed.__cause__ = err
    return typed


class HeuristicOutcomeError(Exception):
    """Raised by a participant's commit or abort handler when the branch already ended the other way outside twopc.

    The helper reports ``outcome`` to the coordinator, which records it as a heuristic outcome.
    """

    outcome = ""


class HeuristicRollbackError(HeuristicOutcomeError):
    """Commit found the branch rolled back by someone else."""

    outcome = "ABORTED"


class HeuristicCommitError(HeuristicOutcomeError):
    """Abort found the branch committed by someone else."""

    outcome = "COMMITTED"
