"""The client against a real coordinator: calls, typed errors, deadlines, trace context, TLS, mutual TLS, tokens."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Iterator

import pytest

import twopc
from twopc.aio import AsyncTwopcClient

from conftest import Coordinator, OwnPostgres, free_port
from pki import Pki


@pytest.fixture
def client(coordinator: Coordinator) -> Iterator[twopc.TwopcClient]:
    with twopc.TwopcClient(coordinator.address) as c:
        yield c


def test_begin_get_abort(client: twopc.TwopcClient) -> None:
    begun = client.begin(lease_s=30, labels={"order": "42"})
    assert begun.lease_expires_at is not None
    tx = client.get(begun.txn_id)
    assert (tx.state, tx.outcome, tx.labels) == (twopc.TxState.ACTIVE, twopc.Outcome.PENDING, {"order": "42"})
    aborted = client.abort(begun.txn_id, "changed my mind")
    assert (aborted.outcome, aborted.state) == (twopc.Outcome.ABORTED, twopc.TxState.ABORTED)
    assert client.heartbeat(client.begin().txn_id) == twopc.TxState.ACTIVE


def test_an_empty_transaction_commits(client: twopc.TwopcClient) -> None:
    txn_id = client.begin().txn_id
    assert client.commit(txn_id).outcome == twopc.Outcome.COMMITTED
    assert client.get(txn_id).state == twopc.TxState.COMMITTED
    listed, _ = client.list(states=[twopc.TxState.COMMITTED], page_size=500)
    assert txn_id in [t.txn_id for t in listed]


def test_errors_carry_the_coordinators_code(client: twopc.TwopcClient) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(twopc.TxNotFoundError) as not_found:
        client.get(unknown)
    assert not_found.value.code == twopc.ErrorCode.TX_NOT_FOUND
    assert unknown in not_found.value.details
    committed = client.begin().txn_id
    client.commit(committed)
    with pytest.raises(twopc.InvalidTransitionError) as late:
        client.enlist(committed, twopc.ParticipantRef("late", "127.0.0.1:1"))
    assert late.value.code == twopc.ErrorCode.INVALID_TRANSITION
    with pytest.raises(twopc.InvalidArgumentError) as bad:
        client.enlist(client.begin().txn_id, twopc.ParticipantRef("bad name!", "127.0.0.1:1"))
    assert bad.value.code == twopc.ErrorCode.INVALID_ARGUMENT and "participant.name" in bad.value.details
    with pytest.raises(twopc.InvalidArgumentError):
        client.get("not-an-id")  # refused before it leaves


def test_the_transaction_block_commits_or_aborts(client: twopc.TwopcClient) -> None:
    with client.transaction() as txn_id:
        pass
    assert client.get(txn_id).outcome == twopc.Outcome.COMMITTED
    with pytest.raises(KeyError):
        with client.transaction() as failed:
            raise KeyError("no such item")
    assert client.get(failed).outcome == twopc.Outcome.ABORTED


def test_an_unreachable_coordinator_is_unavailable_after_the_attempts() -> None:
    with twopc.TwopcClient(f"127.0.0.1:{free_port()}", attempts=2, call_timeout_s=2) as c:
        with pytest.raises(twopc.UnavailableError) as err:
            c.begin()
    assert err.value.retryable and err.value.code is None


def test_retries_end_by_the_calls_deadline() -> None:
    # Nine back-offs would wait more than 5 s in all; the deadline is 1 s.
    address = f"127.0.0.1:{free_port()}"

    def blocking() -> float:
        with twopc.TwopcClient(address, attempts=10, call_timeout_s=1) as c:
            started = time.monotonic()
            with pytest.raises((twopc.UnavailableError, twopc.DeadlineExceededError)):
                c.begin()
            return time.monotonic() - started

    async def aio() -> float:
        async with AsyncTwopcClient(address, attempts=10, call_timeout_s=1) as c:
            started = time.monotonic()
            with pytest.raises((twopc.UnavailableError, twopc.DeadlineExceededError)):
                await c.begin()
            return time.monotonic() - started

    for took in (blocking(), asyncio.run(aio())):
        assert took < 2, f"the call took {took:.1f} s with a 1 s deadline"


def test_a_deadline_that_passes_is_deadline_exceeded(coordinator: Coordinator) -> None:
    with twopc.TwopcClient(coordinator.address, call_timeout_s=0.000_001, attempts=1) as c:
        with pytest.raises(twopc.DeadlineExceededError):
            c.begin()


def test_the_trace_context_reaches_the_coordinator(client: twopc.TwopcClient) -> None:
    trace_id = uuid.uuid4().hex
    with twopc.use_traceparent(f"00-{trace_id}-00f067aa0ba902b7-01"):
        txn_id = client.begin().txn_id
    assert client.get(txn_id).trace_id == trace_id


def test_the_asyncio_client(coordinator: Coordinator) -> None:
    async def run() -> None:
        async with AsyncTwopcClient(coordinator.address) as c:
            async with c.transaction(labels={"via": "aio"}) as txn_id:
                assert (await c.get(txn_id)).state == twopc.TxState.ACTIVE
            assert (await c.get(txn_id)).outcome == twopc.Outcome.COMMITTED
            with pytest.raises(twopc.TxNotFoundError):
                await c.get(str(uuid.uuid4()))
            other = (await c.begin()).txn_id
            assert (await c.abort(other)).outcome == twopc.Outcome.ABORTED

    asyncio.run(run())


@pytest.fixture(scope="module")
def secured(postgres: OwnPostgres) -> Iterator[tuple[Coordinator, Pki]]:
    pki = Pki()
    c = Coordinator(
        postgres.create_database("twopc_log_secured"),
        TWOPC_TLS_CERT=pki.server[0], TWOPC_TLS_KEY=pki.server[1], TWOPC_TLS_CLIENT_CA=pki.ca_file,
        TWOPC_TOKEN_KEYS=pki.token_public, TWOPC_TOKEN_ISSUER="twopc-py-tests", TWOPC_IDENTITIES=pki.identities,
    )
    yield c, pki
    c.stop()


def test_mutual_tls(secured: tuple[Coordinator, Pki]) -> None:
    c, pki = secured
    tls = twopc.TlsFiles(ca_file=pki.ca_file, cert_file=pki.client[0], key_file=pki.client[1])
    with twopc.TwopcClient(c.address, tls=tls) as client:
        assert client.get(client.begin().txn_id).state == twopc.TxState.ACTIVE


def test_a_bearer_token_over_tls(secured: tuple[Coordinator, Pki]) -> None:
    c, pki = secured
    tls = twopc.TlsFiles(ca_file=pki.ca_file)
    refreshed = []

    def token() -> str:
        refreshed.append(1)
        return pki.token("py-app", ["client"])

    with twopc.TwopcClient(c.address, tls=tls, token=token) as client:
        client.begin()
        client.begin()
    assert len(refreshed) >= 2, "the token source is asked on every call"
    with twopc.TwopcClient(c.address, tls=tls, token=pki.token("py-app", ["client"], audience="elsewhere"), attempts=1) as bad:
        with pytest.raises(twopc.UnauthenticatedError) as err:
            bad.begin()
    assert err.value.code == twopc.ErrorCode.UNAUTHENTICATED
    with twopc.TwopcClient(c.address, tls=tls, token=pki.token("py-app", ["participant"], ), attempts=1) as wrong_role:
        with pytest.raises(twopc.PermissionDeniedError):
            wrong_role.begin()
