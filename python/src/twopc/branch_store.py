"""The participant's small record of its branches: what makes phase-2 dedupe, empty rollback and suspension possible."""

from __future__ import annotations

import collections
import enum
import sqlite3
import threading
from typing import Optional, Protocol


class BranchState(str, enum.Enum):
    """Where a participant's branch of a transaction stands."""

    ACTIVE = "ACTIVE"
    """Joined; tentative work may be under way."""
    PREPARED = "PREPARED"
    """Voted PREPARED: must be able to commit until told the outcome."""
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"
    READ_ONLY = "READ_ONLY"
    """Voted READ_ONLY: nothing to finish."""

    @property
    def finished(self) -> bool:
        return self in (BranchState.COMMITTED, BranchState.ABORTED, BranchState.READ_ONLY)


class BranchStore(Protocol):
    """Where branch records are kept.

    A participant whose prepared work survives a restart needs a durable
    store (``set`` durable when it returns); the in-memory one suits work
    that a restart rolls back anyway. Calls may come from several threads.
    """

    def get(self, txn_id: str) -> Optional[BranchState]: ...

    def set(self, txn_id: str, state: BranchState) -> None: ...

    def list_prepared(self) -> list[str]:
        """Branches left PREPARED: in doubt after a restart."""
        ...


class InMemoryBranchStore:
    """Branch records in memory; finished ones kept (for suspension of late Prepares) up to ``max_finished``, oldest evicted first."""

    def __init__(self, max_finished: int = 100_000) -> None:
        self._branches: collections.OrderedDict[str, BranchState] = collections.OrderedDict()
        self._max_finished = max_finished
        self._finished = 0
        self._lock = threading.Lock()

    def get(self, txn_id: str) -> Optional[BranchState]:
        with self._lock:
            return self._branches.get(txn_id)

    def set(self, txn_id: str, state: BranchState) -> None:
        with self._lock:
            before = self._branches.pop(txn_id, None)
            self._finished += int(state.finished) - int(before is not None and before.finished)
            self._branches[txn_id] = state
            for other in [k for k, s in self._branches.items() if s.finished]:
                if self._finished <= self._max_finished:
                    break
                del self._branches[other]
                self._finished -= 1

    def list_prepared(self) -> list[str]:
        with self._lock:
            return [k for k, s in self._branches.items() if s == BranchState.PREPARED]


class SqliteBranchStore:
    """Branch records in a SQLite file, each write durable (``synchronous=FULL``) before it returns."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS twopc_branches (txn_id TEXT PRIMARY KEY, state TEXT NOT NULL, "
            "updated_at REAL NOT NULL DEFAULT (julianday('now')))"
        )

    def get(self, txn_id: str) -> Optional[BranchState]:
        with self._lock:
            row = self._db.execute("SELECT state FROM twopc_branches WHERE txn_id = ?", (txn_id,)).fetchone()
        return None if row is None else BranchState(row[0])

    def set(self, txn_id: str, state: BranchState) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO twopc_branches (txn_id, state) VALUES (?, ?) ON CONFLICT (txn_id) "
                "DO UPDATE SET state = excluded.state, updated_at = julianday('now')",
                (txn_id, state.value),
            )

    def list_prepared(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT txn_id FROM twopc_branches WHERE state = 'PREPARED'").fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
