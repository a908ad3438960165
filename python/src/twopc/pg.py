"""A PostgreSQL database as a resource manager (psycopg 3): PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED.

Needs ``max_prepared_transactions`` > 0 on the server (at least the number
of branches prepared at once). Install with the ``pg`` extra (psycopg 3).
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from typing import Iterator, Optional

import psycopg
from psycopg import errors, sql

from ._keyed import KeyedLock
from ._rules import Vote
from .branch_store import BranchState
from .errors import HeuristicCommitError, HeuristicRollbackError
from .ids import parse_name, parse_txn_id

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]*")
#: How many tombstones (branches aborted before they prepared) are remembered.
TOMBSTONES_MAX = 100_000


class _Branch:
    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self.conn = conn
        self.failed: Optional[str] = None


class PgParticipant:
    """Makes a PostgreSQL database a resource manager of twopc transactions; its methods are the three handlers.

    The application runs its SQL inside a branch with :meth:`work`; the
    branch holds one connection until it is prepared or rolled back.
    Prepare writes a marker row in the local transaction it prepares, so the
    marker exists exactly when the branch committed: a COMMIT PREPARED that
    finds no prepared transaction is "already committed" if the marker
    exists and a heuristic rollback if it does not (phase 2 never guesses).

    ::

        pg = PgParticipant("postgresql://...", name="accounts")
        pg.set_up()
        participant = TwopcParticipant(name="accounts", ..., handlers=pg, branches=pg.branch_store())
        ...
        with pg.work(txn_id) as conn:
            conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, account))
    """

    def __init__(self, conninfo: str, *, name: str, schema: str = "public") -> None:
        self._conninfo = conninfo
        self._name = parse_name(name, "name")
        if _SCHEMA.fullmatch(schema) is None:
            raise ValueError(f"invalid schema '{schema}': [a-z_][a-z0-9_]*")
        self._schema = sql.Identifier(schema)
        self._open: dict[str, _Branch] = {}
        # Aborted here before they prepared: a late work() or Prepare is refused.
        self._tombstones: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._guard = threading.Lock()
        # One operation at a time per branch: an Abort that rolled the
        # connection back while work() was still running on it would let the
        # rest of that work run outside any transaction, committed at once.
        self._branch = KeyedLock()
        self._shared_lock = threading.Lock()
        self._shared_conn: Optional[psycopg.Connection[tuple[object, ...]]] = None

    @contextlib.contextmanager
    def _shared(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """A connection for short autocommit statements (phase 2, the branch record), reopened once broken."""
        with self._shared_lock:
            if self._shared_conn is None or self._shared_conn.closed or self._shared_conn.broken:
                self._shared_conn = psycopg.connect(self._conninfo, autocommit=True)
            try:
                yield self._shared_conn
            except psycopg.OperationalError:
                self._shared_conn.close()
                raise

    def set_up(self) -> None:
        """Creates the bookkeeping tables (idempotent)."""
        with self._shared() as conn:
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.twopc_committed (gid text PRIMARY KEY, "
                    "committed_at timestamptz NOT NULL DEFAULT now())"
                ).format(self._schema)
            )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.twopc_branches (txn_id uuid PRIMARY KEY, state text NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(self._schema)
            )

    def gid(self, txn_id: str) -> str:
        """The global transaction id: only the validated name and a validated transaction id."""
        return f"twopc:{self._name}:{parse_txn_id(txn_id)}"

    @contextlib.contextmanager
    def work(self, txn_id: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """Runs SQL inside the branch of ``txn_id`` (its local transaction opened on first use).

        Blocks for one branch run one at a time, never alongside its Prepare
        or Abort. A block that raises while the database has rolled the
        branch back (a failed statement, a deadlock, the connection lost)
        dooms it: its Prepare votes ABORT. Other exceptions leave the branch
        as the block left it.

        :raises BranchAbortedError: when the branch was aborted here already
        """
        txn_id = parse_txn_id(txn_id)
        with self._branch.hold(txn_id):
            with self._guard:
                if txn_id in self._tombstones:
                    raise BranchAbortedError(f"transaction {txn_id} was aborted here: its work does not start again")
                branch = self._open.get(txn_id)
            if branch is None:
                branch = _Branch(psycopg.connect(self._conninfo))
                with self._guard:
                    self._open[txn_id] = branch
            try:
                yield branch.conn
            except BaseException as err:
                conn = branch.conn
                if conn.broken or conn.info.transaction_status in (
                    psycopg.pq.TransactionStatus.INERROR,
                    psycopg.pq.TransactionStatus.UNKNOWN,
                ):
                    branch.failed = f"the branch's work failed: {err}"
                raise

    def prepare(self, txn_id: str) -> Vote:
        with self._branch.hold(txn_id):
            return self._prepare(txn_id)

    def _prepare(self, txn_id: str) -> Vote:
        with self._guard:
            branch = self._open.pop(txn_id, None)
        if branch is None:
            # Prepared already (a repeated Prepare after a restart), or the
            # work was never done here or died with a restart: then it must
            # not commit.
            if txn_id in self.prepared_in_database():
                return Vote.PREPARED
            with self._guard:
                tombstoned = txn_id in self._tombstones
            if tombstoned:
                return Vote.abort("aborted here before it prepared")
            return Vote.abort("no open branch here: its work was lost in a restart or never done")
        conn = branch.conn
        try:
            if branch.failed is not None:
                conn.rollback()
                return Vote.abort(branch.failed)
            conn.execute(
                sql.SQL("INSERT INTO {}.twopc_committed (gid) VALUES (%s)").format(self._schema), (self.gid(txn_id),)
            )
            conn.execute(sql.SQL("PREPARE TRANSACTION {}").format(sql.Literal(self.gid(txn_id))))
            return Vote.PREPARED
        except psycopg.Error as err:
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            return Vote.abort(str(err).strip())
        finally:
            conn.close()

    def commit(self, txn_id: str) -> None:
        """COMMIT PREPARED, from any connection.

        :raises HeuristicRollbackError: when the branch was rolled back outside twopc
        """
        with self._branch.hold(txn_id):
            try:
                with self._shared() as conn:
                    conn.execute(sql.SQL("COMMIT PREPARED {}").format(sql.Literal(self.gid(txn_id))))
            except errors.UndefinedObject:
                if not self._committed(txn_id):
                    raise HeuristicRollbackError(
                        f"heuristic rollback: prepared transaction {self.gid(txn_id)} was rolled back outside twopc"
                    ) from None

    def abort(self, txn_id: str, reason: str = "") -> None:
        """Rolls back the open branch, or ROLLBACK PREPARED.

        :raises HeuristicCommitError: when the branch was committed outside twopc
        """
        with self._branch.hold(txn_id):
            with self._guard:
                branch = self._open.pop(txn_id, None)
                self._tombstones.pop(txn_id, None)
                self._tombstones[txn_id] = None
                if len(self._tombstones) > TOMBSTONES_MAX:
                    self._tombstones.popitem(last=False)
            if branch is not None:
                with contextlib.suppress(psycopg.Error):
                    branch.conn.rollback()
                branch.conn.close()
                return
            try:
                with self._shared() as conn:
                    conn.execute(sql.SQL("ROLLBACK PREPARED {}").format(sql.Literal(self.gid(txn_id))))
            except errors.UndefinedObject:
                if self._committed(txn_id):
                    raise HeuristicCommitError(
                        f"heuristic commit: prepared transaction {self.gid(txn_id)} was committed outside twopc"
                    ) from None

    def _committed(self, txn_id: str) -> bool:
        with self._shared() as conn:
            row = conn.execute(
                sql.SQL("SELECT 1 FROM {}.twopc_committed WHERE gid = %s").format(self._schema), (self.gid(txn_id),)
            ).fetchone()
        return row is not None

    def prepared_in_database(self) -> list[str]:
        """Transaction ids of this participant's branches prepared in the database."""
        prefix = f"twopc:{self._name}:"
        with self._shared() as conn:
            rows = conn.execute(
                "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE %s AND database = current_database()",
                (prefix.replace("_", r"\_") + "%",),
            ).fetchall()
        return [str(r[0])[len(prefix) :] for r in rows]

    def branch_store(self) -> "PgBranchStore":
        """A durable branch store in the same database (suspension and in-doubt recovery survive restarts)."""
        return PgBranchStore(self)

    def close(self) -> None:
        """Rolls back open branches and closes the connections."""
        with self._guard:
            open_branches, self._open = list(self._open.values()), {}
        for branch in open_branches:
            branch.conn.close()
        with self._shared_lock:
            if self._shared_conn is not None:
                self._shared_conn.close()


class BranchAbortedError(Exception):
    """work() for a branch that was aborted here: its work must not start again."""


class PgBranchStore:
    """Branch records in the participant's own database (table ``twopc_branches``)."""

    def __init__(self, pg: PgParticipant) -> None:
        self._pg = pg

    def get(self, txn_id: str) -> Optional[BranchState]:
        with self._pg._shared() as conn:
            row = conn.execute(
                sql.SQL("SELECT state FROM {}.twopc_branches WHERE txn_id = %s").format(self._pg._schema), (txn_id,)
            ).fetchone()
        return None if row is None else BranchState(str(row[0]))

    def set(self, txn_id: str, state: BranchState) -> None:
        with self._pg._shared() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.twopc_branches (txn_id, state) VALUES (%s, %s) ON CONFLICT (txn_id) "
                    "DO UPDATE SET state = excluded.state, updated_at = now()"
                ).format(self._pg._schema),
                (txn_id, state.value),
            )

    def list_prepared(self) -> list[str]:
        # The database is the truth about prepared branches: a crash between
        # PREPARE TRANSACTION and the branch record leaves only the former.
        return self._pg.prepared_in_database()
