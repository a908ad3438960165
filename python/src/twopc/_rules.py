"""The participant's rules, shared by the threaded and the asyncio helper: what a recorded state answers by itself."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal, Optional

from .branch_store import BranchState
from .v1 import coordinator_pb2 as cpb
from .v1 import participant_pb2 as ppb


@dataclasses.dataclass(frozen=True)
class Vote:
    """A prepare handler's vote: ``Vote.PREPARED``, ``Vote.READ_ONLY`` or ``Vote.abort(reason)``."""

    kind: Literal["PREPARED", "READ_ONLY", "ABORT"]
    reason: str = ""

    PREPARED: ClassVar["Vote"]
    READ_ONLY: ClassVar["Vote"]

    @staticmethod
    def abort(reason: str) -> "Vote":
        return Vote("ABORT", reason)


Vote.PREPARED = Vote("PREPARED")
Vote.READ_ONLY = Vote("READ_ONLY")

NEXT_STATE = {"PREPARED": BranchState.PREPARED, "READ_ONLY": BranchState.READ_ONLY, "ABORT": BranchState.ABORTED}
WIRE_VOTE = {"PREPARED": cpb.VOTE_PREPARED, "READ_ONLY": cpb.VOTE_READ_ONLY, "ABORT": cpb.VOTE_ABORT}
SUSPENDED = "aborted before prepare"
DRAINING = "the participant is stopping and takes no new transactions"


def prepare_known(state: Optional[BranchState]) -> Optional[ppb.PrepareResponse]:
    """The vote a recorded branch answers by itself (repeated Prepare, or suspension), else None."""
    if state == BranchState.ABORTED:
        return ppb.PrepareResponse(vote=cpb.VOTE_ABORT, reason=SUSPENDED)
    if state in (BranchState.PREPARED, BranchState.COMMITTED):
        return ppb.PrepareResponse(vote=cpb.VOTE_PREPARED)
    if state == BranchState.READ_ONLY:
        return ppb.PrepareResponse(vote=cpb.VOTE_READ_ONLY)
    return None


def vote_response(vote: Vote) -> ppb.PrepareResponse:
    return ppb.PrepareResponse(vote=WIRE_VOTE[vote.kind], reason=vote.reason if vote.kind == "ABORT" else "")


def commit_known(state: Optional[BranchState]) -> Optional[ppb.ParticipantCommitResponse]:
    """A repeated Commit answered as done; a rolled-back branch reports it."""
    if state in (BranchState.COMMITTED, BranchState.READ_ONLY):
        return ppb.ParticipantCommitResponse(outcome=cpb.OUTCOME_COMMITTED)
    if state == BranchState.ABORTED:
        return ppb.ParticipantCommitResponse(outcome=cpb.OUTCOME_ABORTED, reason="the branch was rolled back")
    return None


COMMITTED = ppb.ParticipantCommitResponse(outcome=cpb.OUTCOME_COMMITTED)
ABORTED = ppb.ParticipantAbortResponse(outcome=cpb.OUTCOME_ABORTED)
ABORT_REPORTS_COMMIT = ppb.ParticipantAbortResponse(outcome=cpb.OUTCOME_COMMITTED)
