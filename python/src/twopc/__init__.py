"""twopc: clients and participants of a twopc two-phase-commit coordinator (gRPC).

The client (:class:`TwopcClient`, :class:`twopc.aio.AsyncTwopcClient`)
begins, commits and aborts transactions; the participant helpers
(:class:`TwopcParticipant`, :class:`twopc.aio.AsyncTwopcParticipant`) make
a gRPC service take part in them; :mod:`twopc.pg` makes a PostgreSQL
database a resource manager (psycopg 3).
"""

from .branch_store import BranchState, BranchStore, InMemoryBranchStore, SqliteBranchStore
from .client import TransactionAbortedError, TwopcClient
from .credentials import TlsFiles, TokenSource, channel_credentials, server_credentials
from .errors import (
    DeadlineExceededError,
    EndpointNotAllowedError,
    ErrorCode,
    HeuristicCommitError,
    HeuristicOutcomeError,
    HeuristicRollbackError,
    InternalError,
    InvalidArgumentError,
    InvalidTransitionError,
    LimitExceededError,
    ParticipantConflictError,
    ParticipantUnavailableError,
    PermissionDeniedError,
    ResourceExhaustedError,
    ShuttingDownError,
    StoreBusyError,
    StoreRefusedDataError,
    StoreUnavailableError,
    TwopcError,
    TxNotFoundError,
    UnauthenticatedError,
    UnavailableError,
)
from .ids import TXN_ID_METADATA, parse_txn_id, txn_metadata
from .model import BeginResult, Outcome, OutcomeResult, ParticipantRef, ParticipantStatus, Transaction, TxState
from .participant import BranchAlreadyFinishedError, ParticipantHandlers, TwopcParticipant, current_txn_id
from ._rules import Vote
from .tracing import use_traceparent

__version__ = "0.3.0.dev0"

__all__ = [
    "BeginResult",
    "BranchAlreadyFinishedError",
    "BranchState",
    "BranchStore",
    "DeadlineExceededError",
    "EndpointNotAllowedError",
    "ErrorCode",
    "HeuristicCommitError",
    "HeuristicOutcomeError",
    "HeuristicRollbackError",
    "InMemoryBranchStore",
    "InternalError",
    "InvalidArgumentError",
    "InvalidTransitionError",
    "LimitExceededError",
    "Outcome",
    "OutcomeResult",
    "ParticipantConflictError",
    "ParticipantHandlers",
    "ParticipantRef",
    "ParticipantStatus",
    "ParticipantUnavailableError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "ShuttingDownError",
    "SqliteBranchStore",
    "StoreBusyError",
    "StoreRefusedDataError",
    "StoreUnavailableError",
    "TXN_ID_METADATA",
    "TlsFiles",
    "TokenSource",
    "Transaction",
    "TransactionAbortedError",
    "TwopcClient",
    "TwopcError",
    "TwopcParticipant",
    "TxNotFoundError",
    "TxState",
    "UnauthenticatedError",
    "UnavailableError",
    "Vote",
    "channel_credentials",
    "current_txn_id",
    "server_credentials",
    "parse_txn_id",
    "txn_metadata",
    "use_traceparent",
]
