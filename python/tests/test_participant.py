"""The participant helpers (threads and asyncio) against a real coordinator."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import uuid
from typing import Any, Iterator, Union

import grpc
import pytest

import twopc
from twopc.v1 import coordinator_pb2 as cpb

from conftest import Coordinator, wait_until
from helpers import AsyncService, Recorder, ThreadedService

Service = Union[ThreadedService, AsyncService]


@pytest.fixture
def client(coordinator: Coordinator) -> Iterator[twopc.TwopcClient]:
    with twopc.TwopcClient(coordinator.address) as c:
        yield c


@pytest.fixture(params=["threads", "aio"])
def service(request: Any, coordinator: Coordinator) -> Iterator[Service]:
    name = f"py-{request.param}-{uuid.uuid4().hex[:8]}"
    s: Service = ThreadedService(coordinator.address, name, Recorder()) if request.param == "threads" else AsyncService(coordinator.address, name, Recorder())
    yield s
    s.close()


def acknowledged(client: twopc.TwopcClient, txn_id: str) -> bool:
    return all(p.acknowledged for p in client.get(txn_id).participants)


def test_a_business_call_with_twopc_txn_id_enlists_once_and_the_commit_reaches_the_handler_once(
    service: Service, client: twopc.TwopcClient
) -> None:
    txn_id = client.begin().txn_id
    assert service.do(txn_id) == txn_id
    assert service.do(txn_id) == txn_id
    tx = client.get(txn_id)
    assert [(p.name, p.endpoint) for p in tx.participants] == [(service.participant.name, service.endpoint)]
    result = client.commit(txn_id, wait_for_acks=True)
    assert result.outcome == twopc.Outcome.COMMITTED
    # A repeated Commit (a retry, a recovering coordinator) is answered as done, not redone.
    assert service.commit(txn_id).outcome == cpb.OUTCOME_COMMITTED
    assert service.handlers.count("commit", txn_id) == 1
    # ...and a late Abort reports the commit.
    assert service.abort(txn_id).outcome == cpb.OUTCOME_COMMITTED


def test_a_call_outside_a_transaction_runs_without_joining(service: Service) -> None:
    assert service.do(None) == ""


def test_an_abort_before_prepare_is_remembered_and_the_late_prepare_votes_abort(service: Service) -> None:
    txn_id = str(uuid.uuid4())
    assert service.abort(txn_id).outcome == cpb.OUTCOME_ABORTED
    vote = service.prepare(txn_id)
    assert vote.vote == cpb.VOTE_ABORT and vote.reason == "aborted before prepare"
    assert service.handlers.count("prepare", txn_id) == 0


def test_a_malformed_id_is_invalid_argument_for_phase_calls_and_business_calls(service: Service) -> None:
    with pytest.raises(grpc.RpcError) as err:
        service.prepare("not-a-transaction-id")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        service.do("not-a-transaction-id")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a transaction id" in err.value.details()


def test_a_business_call_in_a_finished_transaction_is_refused_with_why(service: Service, client: twopc.TwopcClient) -> None:
    txn_id = client.begin().txn_id
    service.do(txn_id)
    assert client.abort(txn_id).outcome == twopc.Outcome.ABORTED
    wait_until(lambda: acknowledged(client, txn_id), 10, "the abort acknowledged")
    with pytest.raises(grpc.RpcError) as err:
        service.do(txn_id)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"transaction {txn_id} is already ABORTED here" in err.value.details()
    # A transaction the coordinator does not know cannot be joined either.
    with pytest.raises(grpc.RpcError) as err:
        service.do(str(uuid.uuid4()))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "cannot join transaction" in err.value.details()


def test_a_prepare_handler_that_raises_votes_abort_with_the_reason(service: Service, client: twopc.TwopcClient) -> None:
    def broken(txn_id: str) -> twopc.Vote:
        raise RuntimeError("the ledger is locked")

    service.handlers.vote = broken
    txn_id = client.begin().txn_id
    service.do(txn_id)
    result = client.commit(txn_id, wait_for_acks=True)
    assert result.outcome == twopc.Outcome.ABORTED
    assert "prepare failed: the ledger is locked" in result.reason
    assert service.handlers.count("abort", txn_id) >= 1


def test_a_branch_left_prepared_is_finished_after_a_restart_as_the_coordinator_says(
    coordinator: Coordinator, client: twopc.TwopcClient
) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "branches.sqlite")
        handlers = Recorder()
        handlers.fail_commits = 1_000_000  # the commit never lands before the "crash"
        name = f"py-restart-{uuid.uuid4().hex[:8]}"
        first = ThreadedService(coordinator.address, name, handlers, twopc.SqliteBranchStore(path))
        other = ThreadedService(coordinator.address, f"{name}-other", Recorder())  # two: no one-phase commit
        txn_id = client.begin().txn_id
        first.do(txn_id)
        other.do(txn_id)
        assert client.commit(txn_id).outcome == twopc.Outcome.COMMITTED
        first.close()
        other.close()  # the process is gone with the branch prepared
        assert twopc.SqliteBranchStore(path).list_prepared() == [txn_id]
        handlers.fail_commits = 0
        again = ThreadedService(coordinator.address, name, handlers, twopc.SqliteBranchStore(path))
        try:
            assert again.participant.recover_in_doubt() == 0
            assert handlers.count("commit", txn_id) == 1
            assert twopc.SqliteBranchStore(path).get(txn_id) == twopc.BranchState.COMMITTED
        finally:
            again.close()


def test_a_branch_unknown_to_the_coordinator_is_rolled_back_at_recovery(coordinator: Coordinator) -> None:
    with tempfile.TemporaryDirectory() as d:
        store = twopc.SqliteBranchStore(os.path.join(d, "b.sqlite"))
        txn_id = str(uuid.uuid4())
        store.set(txn_id, twopc.BranchState.PREPARED)
        handlers = Recorder()
        s = ThreadedService(coordinator.address, "py-presumed-abort", handlers, store)
        try:
            assert s.participant.recover_in_doubt() == 0
            assert handlers.count("abort", txn_id) == 1
            assert store.get(txn_id) == twopc.BranchState.ABORTED
        finally:
            s.close()


def test_stopping_drains(coordinator: Coordinator, client: twopc.TwopcClient) -> None:
    handlers = Recorder()
    s = ThreadedService(coordinator.address, f"py-drain-{uuid.uuid4().hex[:8]}", handlers)
    joined = client.begin().txn_id
    s.do(joined)
    stopped = threading.Thread(target=s.participant.stop, args=(s.server, 20.0))
    stopped.start()
    wait_until(lambda: s.participant.draining, 5, "draining")
    # New business calls are refused; a Prepare of a transaction not joined here votes ABORT.
    with pytest.raises(grpc.RpcError) as err:
        s.do(client.begin().txn_id)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    stranger = str(uuid.uuid4())
    assert s.prepare(stranger).vote == cpb.VOTE_ABORT
    # The joined branch is still prepared and committed before the server stops.
    assert client.commit(joined, wait_for_acks=True).outcome == twopc.Outcome.COMMITTED
    stopped.join(30)
    assert not stopped.is_alive()
    assert handlers.count("commit", joined) == 1
    s.channel.close()


def test_the_health_service_answers_serving(service: Service) -> None:
    from twopc import _wire

    check = service.channel.unary_unary(_wire.HEALTH_CHECK.path, request_serializer=_wire.Method.serialize,
                                        response_deserializer=_wire.HEALTH_CHECK.response)
    assert check(_wire.health_pb2.HealthCheckRequest(service=""), timeout=5).status == _wire.health_pb2.HealthCheckResponse.SERVING


def test_asyncio_a_branch_left_prepared_is_finished_after_a_restart(coordinator: Coordinator, client: twopc.TwopcClient) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "branches.sqlite")
        handlers = Recorder()
        handlers.fail_commits = 1_000_000
        name = f"py-aio-restart-{uuid.uuid4().hex[:8]}"
        first = AsyncService(coordinator.address, name, handlers, twopc.SqliteBranchStore(path))
        other = ThreadedService(coordinator.address, f"{name}-other", Recorder())
        txn_id = client.begin().txn_id
        first.do(txn_id)
        other.do(txn_id)
        assert client.commit(txn_id).outcome == twopc.Outcome.COMMITTED
        first.close()
        other.close()
        handlers.fail_commits = 0
        again = AsyncService(coordinator.address, name, handlers, twopc.SqliteBranchStore(path))
        try:
            assert again.run(again.participant.recover_in_doubt()) == 0
            assert handlers.count("commit", txn_id) == 1
        finally:
            again.close()


def test_asyncio_stopping_drains(coordinator: Coordinator, client: twopc.TwopcClient) -> None:
    handlers = Recorder()
    s = AsyncService(coordinator.address, f"py-aio-drain-{uuid.uuid4().hex[:8]}", handlers)
    joined = client.begin().txn_id
    s.do(joined)
    stopping = asyncio.run_coroutine_threadsafe(s.participant.stop(s.server, 20.0), s.loop)
    wait_until(lambda: s.participant.draining, 5, "draining")
    with pytest.raises(grpc.RpcError) as err:
        s.do(client.begin().txn_id)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert s.prepare(str(uuid.uuid4())).vote == cpb.VOTE_ABORT
    assert client.commit(joined, wait_for_acks=True).outcome == twopc.Outcome.COMMITTED
    stopping.result(30)
    assert handlers.count("commit", joined) == 1
    s.channel.close()
    s.loop.call_soon_threadsafe(s.loop.stop)
    s.thread.join()
