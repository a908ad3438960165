"""Unit tests: ids, errors, branch stores, credentials, trace context, votes."""

from __future__ import annotations

import os
import tempfile

import grpc
import pytest

import twopc
from twopc import _retry, tracing
from twopc.branch_store import BranchState, InMemoryBranchStore, SqliteBranchStore
from twopc.errors import ErrorCode, error_from_status

TXN = "0b6f1f4e-3d7e-4f57-9a53-8d3c2f1a0b9c"


def test_a_transaction_id_is_a_uuid_in_lowercase() -> None:
    assert twopc.parse_txn_id(TXN.upper()) == TXN
    for bad in ["", "not-a-uuid", TXN + "0", "'; DROP TABLE x; --", TXN.replace("-", "")]:
        with pytest.raises(twopc.InvalidArgumentError) as err:
            twopc.parse_txn_id(bad)
        assert err.value.code == ErrorCode.INVALID_ARGUMENT
        assert "txn_id" in str(err.value)


def test_txn_metadata_carries_the_id_under_twopc_txn_id() -> None:
    assert twopc.txn_metadata(TXN, (("x-request", "1"),)) == (("x-request", "1"), ("twopc-txn-id", TXN))
    with pytest.raises(twopc.InvalidArgumentError):
        twopc.txn_metadata("nope")


def test_errors_are_typed_by_the_twopc_error_code_trailer() -> None:
    cases = {
        "TWOPC_TX_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, twopc.TxNotFoundError),
        "TWOPC_INVALID_TRANSITION": (grpc.StatusCode.FAILED_PRECONDITION, twopc.InvalidTransitionError),
        "TWOPC_STORE_UNAVAILABLE": (grpc.StatusCode.UNAVAILABLE, twopc.StoreUnavailableError),
        "TWOPC_SHUTTING_DOWN": (grpc.StatusCode.UNAVAILABLE, twopc.ShuttingDownError),
        "TWOPC_STORE_BUSY": (grpc.StatusCode.RESOURCE_EXHAUSTED, twopc.StoreBusyError),
        "TWOPC_LIMIT_EXCEEDED": (grpc.StatusCode.RESOURCE_EXHAUSTED, twopc.LimitExceededError),
        "TWOPC_STORE_REFUSED_DATA": (grpc.StatusCode.INVALID_ARGUMENT, twopc.StoreRefusedDataError),
        "TWOPC_ENDPOINT_NOT_ALLOWED": (grpc.StatusCode.PERMISSION_DENIED, twopc.EndpointNotAllowedError),
        "TWOPC_PARTICIPANT_CONFLICT": (grpc.StatusCode.ALREADY_EXISTS, twopc.ParticipantConflictError),
        "TWOPC_UNAUTHENTICATED": (grpc.StatusCode.UNAUTHENTICATED, twopc.UnauthenticatedError),
    }
    for code, (status, cls) in cases.items():
        err = error_from_status(status, "what happened", [("twopc-error-code", code)])
        assert type(err) is cls, code
        assert err.code == ErrorCode(code)
        assert str(err) == f"{code}: what happened"
    # Every code the coordinator sends has its class.
    assert {c.value for c in ErrorCode} >= set(cases)


def test_a_status_without_a_code_is_typed_by_the_status() -> None:
    err = error_from_status(grpc.StatusCode.UNAVAILABLE, "connection refused")
    assert type(err) is twopc.UnavailableError and err.code is None and err.retryable
    assert type(error_from_status(grpc.StatusCode.DEADLINE_EXCEEDED, "")) is twopc.DeadlineExceededError
    # A code newer than this package: by status, its text kept.
    newer = error_from_status(grpc.StatusCode.NOT_FOUND, "x", [("twopc-error-code", "TWOPC_SOMETHING_NEW")])
    assert type(newer) is twopc.TxNotFoundError


def test_resource_exhausted_is_retried_only_after_the_coordinators_hint() -> None:
    hinted = error_from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "busy", [("grpc-retry-pushback-ms", "750")])
    assert hinted.retry_after_s == 0.75
    delay = _retry.retry_delay_s(hinted, 1)
    assert delay is not None and delay >= 0.75
    assert _retry.retry_delay_s(error_from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "cap"), 1) is None
    assert _retry.retry_delay_s(error_from_status(grpc.StatusCode.NOT_FOUND, "x"), 1) is None


def test_backoff_grows_capped_and_never_collapses_to_zero() -> None:
    for attempt in range(1, 40):
        d = _retry.backoff_s(attempt)
        exp = min(2.0, 0.1 * 2 ** (attempt - 1))
        assert exp / 2 <= d <= exp


def test_a_bearer_token_is_refused_without_tls() -> None:
    with pytest.raises(ValueError, match="only over TLS"):
        twopc.channel_credentials(None, "token")
    with pytest.raises(ValueError, match="both cert_file and key_file"):
        twopc.TlsFiles(ca_file=None, cert_file="c.pem")


def test_in_memory_branches_keep_finished_ones_up_to_a_bound_oldest_evicted_first() -> None:
    store = InMemoryBranchStore(max_finished=2)
    for i in range(4):
        store.set(f"t{i}", BranchState.ABORTED)
    store.set("p", BranchState.PREPARED)
    assert [store.get(f"t{i}") for i in range(4)] == [None, None, BranchState.ABORTED, BranchState.ABORTED]
    assert store.list_prepared() == ["p"]
    store.set("p", BranchState.COMMITTED)
    assert store.get("t2") is None and store.get("p") == BranchState.COMMITTED


def test_sqlite_branches_survive_reopening() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "b.sqlite")
        store = SqliteBranchStore(path)
        store.set(TXN, BranchState.ACTIVE)
        store.set(TXN, BranchState.PREPARED)
        store.close()
        again = SqliteBranchStore(path)
        assert again.get(TXN) == BranchState.PREPARED and again.list_prepared() == [TXN]
        again.close()


def test_trace_headers_are_taken_only_when_valid() -> None:
    good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert tracing.headers_from_metadata([("traceparent", good), ("tracestate", "a=b")]) == (
        ("traceparent", good),
        ("tracestate", "a=b"),
    )
    assert tracing.headers_from_metadata([("traceparent", "garbage")]) == ()
    with twopc.use_traceparent(good):
        assert ("traceparent", good) in tracing.trace_headers()
    assert tracing.trace_headers() == ()
    with pytest.raises(ValueError):
        with twopc.use_traceparent("00-xyz"):
            pass


def test_votes() -> None:
    assert twopc.Vote.PREPARED.kind == "PREPARED" and twopc.Vote.READ_ONLY.kind == "READ_ONLY"
    assert twopc.Vote.abort("no stock") == twopc.Vote("ABORT", "no stock")
