"""The PostgreSQL resource manager against a real PostgreSQL (crashed and restarted by the tests)."""

from __future__ import annotations

import uuid
from typing import Iterator

import psycopg
import pytest

import twopc
from twopc.pg import BranchAbortedError, PgParticipant

from conftest import Coordinator, OwnPostgres
from helpers import ThreadedService


@pytest.fixture
def db(postgres: OwnPostgres) -> Iterator[str]:
    url = postgres.create_database(f"bank_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))")
        conn.execute("INSERT INTO accounts VALUES ('alice', 100), ('bob', 0)")
    yield url


@pytest.fixture
def pg(db: str) -> Iterator[PgParticipant]:
    p = PgParticipant(db, name="bank-py")
    p.set_up()
    yield p
    p.close()


def balance(url: str, account: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT balance FROM accounts WHERE id = %s", (account,)).fetchone()
    assert row is not None
    return int(row[0])


def debit(pg: PgParticipant, txn_id: str, amount: int) -> None:
    with pg.work(txn_id) as conn:
        conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = 'alice'", (amount,))


def test_work_is_prepared_then_committed_from_another_connection(pg: PgParticipant, db: str) -> None:
    txn_id = str(uuid.uuid4())
    debit(pg, txn_id, 30)
    assert balance(db, "alice") == 100  # tentative
    assert pg.prepare(txn_id) == twopc.Vote.PREPARED
    assert pg.prepared_in_database() == [txn_id]
    assert pg.prepare(txn_id) == twopc.Vote.PREPARED  # repeated: found prepared in the database
    pg.commit(txn_id)
    assert balance(db, "alice") == 70
    pg.commit(txn_id)  # repeated: the marker says it committed
    with pytest.raises(twopc.HeuristicCommitError):
        pg.abort(txn_id)  # phase 2 never guesses: the marker says committed
    assert pg.prepared_in_database() == []


def test_an_abort_rolls_back_open_and_prepared_work(pg: PgParticipant, db: str) -> None:
    open_txn, prepared_txn = str(uuid.uuid4()), str(uuid.uuid4())
    debit(pg, open_txn, 10)
    pg.abort(open_txn)
    debit(pg, prepared_txn, 20)
    assert pg.prepare(prepared_txn) == twopc.Vote.PREPARED
    pg.abort(prepared_txn)
    pg.abort(prepared_txn)  # repeated: no marker, nothing prepared: already rolled back
    assert balance(db, "alice") == 100
    assert pg.prepared_in_database() == []


def test_a_branch_rolled_back_by_hand_is_a_heuristic_rollback_on_commit(pg: PgParticipant, db: str) -> None:
    txn_id = str(uuid.uuid4())
    debit(pg, txn_id, 10)
    pg.prepare(txn_id)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"ROLLBACK PREPARED '{pg.gid(txn_id)}'")
    with pytest.raises(twopc.HeuristicRollbackError, match="rolled back outside twopc"):
        pg.commit(txn_id)


def test_work_that_raised_is_never_prepared(pg: PgParticipant, db: str) -> None:
    txn_id = str(uuid.uuid4())
    with pytest.raises(psycopg.errors.CheckViolation):
        debit(pg, txn_id, 1_000)
    vote = pg.prepare(txn_id)
    assert vote.kind == "ABORT" and "the branch's work failed" in vote.reason
    assert pg.prepared_in_database() == []


def test_prepare_without_open_work_votes_abort(pg: PgParticipant) -> None:
    vote = pg.prepare(str(uuid.uuid4()))
    assert vote.kind == "ABORT" and "no open branch here" in vote.reason


def test_a_prepared_branch_survives_a_crash_of_postgresql(postgres: OwnPostgres, pg: PgParticipant, db: str) -> None:
    txn_id, lost = str(uuid.uuid4()), str(uuid.uuid4())
    debit(pg, txn_id, 40)
    assert pg.prepare(txn_id) == twopc.Vote.PREPARED
    with pg.work(lost) as conn:  # open, not prepared: dies with the crash (another row: alice's is locked)
        conn.execute("UPDATE accounts SET balance = balance + 5 WHERE id = 'bob'")
    postgres.crash()
    postgres.start()
    with pytest.raises(psycopg.OperationalError):
        pg.prepared_in_database()  # the connection the crash cut
    assert pg.prepared_in_database() == [txn_id]  # reopened
    assert pg.prepare(lost).kind == "ABORT"
    pg.commit(txn_id)
    assert balance(db, "alice") == 60


def test_a_new_process_finishes_what_an_earlier_one_prepared(coordinator: Coordinator, db: str) -> None:
    """The helper over the resource manager: the branch record and the prepared transaction outlive the service."""
    first = PgParticipant(db, name="bank-py")
    first.set_up()
    other = ThreadedService(coordinator.address, "bank-py-other", _Ok())
    svc = ThreadedService(coordinator.address, "bank-py", _FailingCommit(first), first.branch_store())
    with twopc.TwopcClient(coordinator.address) as client:
        txn_id = client.begin().txn_id
        debit(first, txn_id, 25)
        svc.do(txn_id)
        other.do(txn_id)
        assert client.commit(txn_id).outcome == twopc.Outcome.COMMITTED
    svc.close()
    other.close()
    first.close()
    assert balance(db, "alice") == 100  # prepared, not committed: the service "crashed" first
    again = PgParticipant(db, name="bank-py")
    restarted = ThreadedService(coordinator.address, "bank-py", again, again.branch_store())
    try:
        assert again.prepared_in_database() == [txn_id]
        assert restarted.participant.recover_in_doubt() == 0
        assert balance(db, "alice") == 75
        assert again.branch_store().get(txn_id) == twopc.BranchState.COMMITTED
    finally:
        restarted.close()
        again.close()


def test_ids_are_validated_before_they_reach_sql(pg: PgParticipant) -> None:
    with pytest.raises(twopc.InvalidArgumentError):
        pg.gid("x'; COMMIT PREPARED 'y")
    with pytest.raises(twopc.InvalidArgumentError):
        PgParticipant("postgresql://", name="no spaces")
    with pytest.raises(ValueError):
        PgParticipant("postgresql://", name="ok", schema="public; drop")


class _Ok:
    def prepare(self, txn_id: str) -> twopc.Vote:
        return twopc.Vote.PREPARED

    def commit(self, txn_id: str) -> None:
        pass

    def abort(self, txn_id: str, reason: str) -> None:
        pass


class _FailingCommit:
    """The resource manager, whose commit never lands (the process dies before)."""

    def __init__(self, pg: PgParticipant) -> None:
        self.pg = pg

    def prepare(self, txn_id: str) -> twopc.Vote:
        return self.pg.prepare(txn_id)

    def commit(self, txn_id: str) -> None:
        raise RuntimeError("the process is dying")

    def abort(self, txn_id: str, reason: str) -> None:
        self.pg.abort(txn_id, reason)


def test_an_abort_before_prepare_leaves_a_tombstone(pg: PgParticipant, db: str) -> None:
    txn_id = str(uuid.uuid4())
    debit(pg, txn_id, 10)
    pg.abort(txn_id)
    with pytest.raises(BranchAbortedError):
        debit(pg, txn_id, 10)  # the late work does not start again
    vote = pg.prepare(txn_id)
    assert vote.kind == "ABORT" and vote.reason == "aborted here before it prepared"
    assert balance(db, "alice") == 100


def test_an_application_error_inside_work_leaves_the_branch_usable(pg: PgParticipant, db: str) -> None:
    txn_id = str(uuid.uuid4())
    with pytest.raises(LookupError):
        with pg.work(txn_id) as conn:
            conn.execute("UPDATE accounts SET balance = balance - 10 WHERE id = 'alice'")
            raise LookupError("the application changed its mind about the rest")
    assert pg.prepare(txn_id) == twopc.Vote.PREPARED  # the database never rolled it back
    pg.commit(txn_id)
    assert balance(db, "alice") == 90


def test_a_branch_still_prepared_after_its_abort_is_rolled_back_again(coordinator: Coordinator, pg: PgParticipant, db: str) -> None:
    txn_id = str(uuid.uuid4())
    debit(pg, txn_id, 10)
    assert pg.prepare(txn_id) == twopc.Vote.PREPARED
    store = pg.branch_store()
    store.set(txn_id, twopc.BranchState.ABORTED)  # told to abort, its ROLLBACK PREPARED lost
    s = ThreadedService(coordinator.address, "bank-py", pg, store)
    try:
        assert s.participant.recover_in_doubt() == 0
        assert pg.prepared_in_database() == []
        assert balance(db, "alice") == 100
    finally:
        s.close()
