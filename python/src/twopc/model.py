"""What the coordinator answers, as plain Python values (the wire messages stay inside the package)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Optional

from google.protobuf.timestamp_pb2 import Timestamp

from .v1 import coordinator_pb2 as pb


class TxState(str, enum.Enum):
    """Where a transaction stands in the coordinator's log."""

    ACTIVE = "ACTIVE"
    PREPARING = "PREPARING"
    COMMITTING = "COMMITTING"
    ABORTING = "ABORTING"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"
    IN_DOUBT = "IN_DOUBT"
    """A one-phase Commit whose answer never came: only the participant knows the outcome."""


class Outcome(str, enum.Enum):
    """A transaction's decided outcome; PENDING until there is a decision."""

    PENDING = "PENDING"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"


@dataclasses.dataclass(frozen=True)
class ParticipantRef:
    """A participant service: the name it enlists under and the address the coordinator calls."""

    name: str
    endpoint: str


@dataclasses.dataclass(frozen=True)
class BeginResult:
    txn_id: str
    lease_expires_at: Optional[datetime.datetime]


@dataclasses.dataclass(frozen=True)
class OutcomeResult:
    """The answer of Abort (and Commit): the outcome the log holds, why, and the state."""

    outcome: Outcome
    reason: str
    state: TxState


@dataclasses.dataclass(frozen=True)
class ParticipantStatus:
    name: str
    endpoint: str
    vote: str
    vote_reason: str
    acknowledged: bool
    attempts: int
    last_error: str
    heuristic_outcome: Optional[Outcome]


@dataclasses.dataclass(frozen=True)
class Transaction:
    """One transaction as GetTransaction shows it."""

    txn_id: str
    state: TxState
    outcome: Outcome
    reason: str
    labels: dict[str, str]
    participants: tuple[ParticipantStatus, ...]
    created_at: Optional[datetime.datetime]
    lease_expires_at: Optional[datetime.datetime]
    decided_at: Optional[datetime.datetime]
    finished_at: Optional[datetime.datetime]
    one_phase: bool
    trace_id: str
    stuck: bool
    heuristic: bool


def to_datetime(ts: Timestamp, present: bool) -> Optional[datetime.datetime]:
    if not present:
        return None
    return datetime.datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=datetime.timezone.utc)


def to_state(wire: int) -> TxState:
    """A wire TransactionState as a TxState.

    :raises ValueError: for UNSPECIFIED or a state this package does not know
    """
    name = pb.TransactionState.Name(wire)
    return TxState(name.removeprefix("TRANSACTION_STATE_"))


def to_outcome(wire: int) -> Outcome:
    name = pb.Outcome.Name(wire)
    return {"OUTCOME_COMMITTED": Outcome.COMMITTED, "OUTCOME_ABORTED": Outcome.ABORTED}.get(name, Outcome.PENDING)


def to_transaction(tx: pb.Transaction) -> Transaction:
    return Transaction(
        txn_id=tx.txn_id,
        state=to_state(tx.state),
        outcome=to_outcome(tx.outcome),
        reason=tx.reason,
        labels=dict(tx.labels),
        participants=tuple(
            ParticipantStatus(
                name=p.name,
                endpoint=p.endpoint,
                vote=pb.Vote.Name(p.vote).removeprefix("VOTE_"),
                vote_reason=p.vote_reason,
                acknowledged=p.acknowledged,
                attempts=p.attempts,
                last_error=p.last_error,
                heuristic_outcome=None if p.heuristic_outcome == pb.OUTCOME_UNSPECIFIED else to_outcome(p.heuristic_outcome),
            )
            for p in tx.participants
        ),
        created_at=to_datetime(tx.created_at, tx.HasField("created_at")),
        lease_expires_at=to_datetime(tx.lease_expires_at, tx.HasField("lease_expires_at")),
        decided_at=to_datetime(tx.decided_at, tx.HasField("decided_at")),
        finished_at=to_datetime(tx.finished_at, tx.HasField("finished_at")),
        one_phase=tx.one_phase,
        trace_id=tx.trace_id,
        stuck=tx.stuck,
        heuristic=tx.heuristic,
    )
