#!/usr/bin/env python3
"""An inventory service in Python that takes part in twopc transactions.

Written from the proto files alone (proto/twopc/v1/*.proto, the standard
grpc.health.v1 health.proto and examples/proto/shop.proto), with grpcio and
grpc_tools, no twopc library. It keeps its stock and its transaction
branches in SQLite, so prepared work survives a crash.

    python3 examples/python/inventory.py --coordinator 127.0.0.1:50051 \\
        --listen 127.0.0.1:50063 --db inventory.sqlite \\
        [--tls-ca ca.pem --tls-cert inventory.pem --tls-key inventory.key]

Prints {"listening": PORT} on stdout once serving.

The participant rules it keeps (participant.proto):
* Reserve (business call) with `twopc-txn-id` metadata joins the
  transaction: the first call enlists this service with the coordinator.
* Prepare votes VOTE_ABORT (with the reason) when the stock not promised
  to prepared branches does not cover the branch's holds; else it makes the
  reservation durable before VOTE_PREPARED; a branch with no work votes
  VOTE_READ_ONLY.
* Commit and Abort are idempotent and acknowledge unknown transactions.
* An Abort before Prepare is remembered: the late Prepare votes VOTE_ABORT.
* A branch prepared (or joined) longer than --check-after seconds without an
  outcome, and every prepared branch at start-up, is resolved through the
  coordinator's GetTransaction (NOT_FOUND: aborted).
"""

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
GEN = os.path.join(HERE, "gen")
PROTOS = ["twopc/v1/coordinator.proto", "twopc/v1/participant.proto", "shop.proto", "health/v1/health.proto"]
INCLUDES = [
    os.path.join(ROOT, "proto"),
    os.path.join(ROOT, "examples", "proto"),
    os.path.join(ROOT, "node_modules", "grpc-health-check", "proto"),
]


def generate_stubs():
    """Generates the Python stubs from the proto files (grpc_tools.protoc), unless they are newer."""
    sources = [os.path.join(d, p) for p in PROTOS for d in INCLUDES if os.path.exists(os.path.join(d, p))]
    outputs = [os.path.join(GEN, p.replace(".proto", suffix)) for p in PROTOS for suffix in ("_pb2.py", "_pb2_grpc.py")]
    if not all(os.path.exists(o) for o in outputs) or max(map(os.path.getmtime, sources)) > min(
        map(os.path.getmtime, outputs)
    ):
        os.makedirs(GEN, exist_ok=True)
        args = [sys.executable, "-m", "grpc_tools.protoc"]
        args += ["-I" + d for d in INCLUDES]
        args += ["--python_out=" + GEN, "--grpc_python_out=" + GEN] + PROTOS
        subprocess.run(args, check=True)
    sys.path.insert(0, GEN)


generate_stubs()

from health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from twopc.v1 import coordinator_pb2, coordinator_pb2_grpc  # noqa: E402
from twopc.v1 import participant_pb2, participant_pb2_grpc  # noqa: E402
import shop_pb2  # noqa: E402
import shop_pb2_grpc  # noqa: E402

TXN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INITIAL_STOCK = {"widget": 5, "gadget": 2}


class Store:
    """Stock, branches and tentative holds in SQLite; one writer at a time."""

    def __init__(self, path):
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        with self.lock:
            self.db.executescript(
                """
                CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, units INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS branches (
                  txn_id TEXT PRIMARY KEY, state TEXT NOT NULL, since REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS holds (txn_id TEXT NOT NULL, sku TEXT NOT NULL, units INTEGER NOT NULL);
                """
            )
            for sku, units in INITIAL_STOCK.items():
                self.db.execute("INSERT OR IGNORE INTO stock VALUES (?, ?)", (sku, units))

    def state(self, txn_id):
        row = self.db.execute("SELECT state FROM branches WHERE txn_id = ?", (txn_id,)).fetchone()
        return None if row is None else row[0]

    def set_state(self, txn_id, state):
        self.db.execute(
            "INSERT INTO branches VALUES (?, ?, ?) ON CONFLICT (txn_id) DO UPDATE SET state = excluded.state, since = excluded.since",
            (txn_id, state, time.time()),
        )

    def finish(self, txn_id, commit):
        """Applies (commit) or drops the branch's holds, and records the outcome, in one local transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if commit:
                self.db.execute(
                    "UPDATE stock SET units = units - (SELECT COALESCE(SUM(units), 0) FROM holds h WHERE h.txn_id = ? AND h.sku = stock.sku)",
                    (txn_id,),
                )
            self.db.execute("DELETE FROM holds WHERE txn_id = ?", (txn_id,))
            self.set_state(txn_id, "COMMITTED" if commit else "ABORTED")
            self.db.execute("COMMIT")
        except Exception:
            self.db.execute("ROLLBACK")
            raise


def txn_id_of(value, context):
    if not TXN_ID.match(value or ""):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "txn_id: not a transaction id (a UUID)")
    return value


class Inventory(shop_pb2_grpc.InventoryServicer, participant_pb2_grpc.ParticipantServicer):
    def __init__(self, store, name, endpoint, coordinator):
        self.store = store
        self.name = name
        self.endpoint = endpoint
        self.coordinator = coordinator

    # Business API: shop.v1.Inventory

    def Reserve(self, request, context):
        txn = dict(context.invocation_metadata()).get("twopc-txn-id")
        if txn is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "Reserve runs inside a transaction (twopc-txn-id)")
        txn_id = txn_id_of(txn, context)
        if request.amount <= 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "amount must be positive")
        with self.store.lock:
            state = self.store.state(txn_id)
            if state is not None and state != "ACTIVE":
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"transaction {txn_id} is already {state} here")
            if state is None:
                try:
                    self.coordinator.Enlist(
                        coordinator_pb2.EnlistRequest(
                            txn_id=txn_id,
                            participant=coordinator_pb2.ParticipantRef(name=self.name, endpoint=self.endpoint),
                        ),
                        timeout=5,
                    )
                except grpc.RpcError as err:
                    context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"cannot join: {err.details()}")
                self.store.set_state(txn_id, "ACTIVE")
            if self.store.db.execute("SELECT 1 FROM stock WHERE sku = ?", (request.key,)).fetchone() is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no such item: '{request.key}'")
            # A tentative hold; whether the stock covers it is decided at Prepare.
            self.store.db.execute("INSERT INTO holds VALUES (?, ?, ?)", (txn_id, request.key, request.amount))
        return shop_pb2.TakeResponse()

    # twopc.v1.Participant

    def Prepare(self, request, context):
        txn_id = txn_id_of(request.txn_id, context)
        with self.store.lock:
            state = self.store.state(txn_id)
            if state == "ABORTED":
                return participant_pb2.PrepareResponse(vote="VOTE_ABORT", reason="aborted before prepare")
            if state in ("PREPARED", "COMMITTED"):
                return participant_pb2.PrepareResponse(vote="VOTE_PREPARED")
            if state == "READ_ONLY":
                return participant_pb2.PrepareResponse(vote="VOTE_READ_ONLY")
            held = self.store.db.execute(
                "SELECT sku, SUM(units) FROM holds WHERE txn_id = ? GROUP BY sku", (txn_id,)
            ).fetchall()
            for sku, asked in held:
                # What prepared branches have not already promised.
                available = self.store.db.execute(
                    "SELECT s.units - COALESCE((SELECT SUM(h.units) FROM holds h JOIN branches b USING (txn_id)"
                    " WHERE h.sku = s.sku AND b.state = 'PREPARED'), 0) FROM stock s WHERE s.sku = ?",
                    (sku,),
                ).fetchone()[0]
                if available < asked:
                    self.store.finish(txn_id, commit=False)
                    reason = f"only {available} units of '{sku}' available, {asked} asked"
                    return participant_pb2.PrepareResponse(vote="VOTE_ABORT", reason=reason)
            # Durable before the vote (synchronous=FULL).
            self.store.set_state(txn_id, "PREPARED" if held else "READ_ONLY")
            return participant_pb2.PrepareResponse(vote="VOTE_PREPARED" if held else "VOTE_READ_ONLY")

    def Commit(self, request, context):
        txn_id = txn_id_of(request.txn_id, context)
        with self.store.lock:
            state = self.store.state(txn_id)
            if state == "ABORTED":
                return participant_pb2.ParticipantCommitResponse(outcome="OUTCOME_ABORTED", reason="rolled back")
            if state in ("PREPARED", "ACTIVE"):
                self.store.finish(txn_id, commit=True)
            # Unknown, READ_ONLY or COMMITTED: acknowledged (idempotent).
            return participant_pb2.ParticipantCommitResponse(outcome="OUTCOME_COMMITTED")

    def Abort(self, request, context):
        txn_id = txn_id_of(request.txn_id, context)
        with self.store.lock:
            state = self.store.state(txn_id)
            if state == "COMMITTED":
                return participant_pb2.ParticipantAbortResponse(outcome="OUTCOME_COMMITTED")
            if state != "READ_ONLY":
                # Unknown too: an empty rollback, remembered (suspension).
                self.store.finish(txn_id, commit=False)
            return participant_pb2.ParticipantAbortResponse(outcome="OUTCOME_ABORTED")

    # In-doubt branches

    def resolve(self, check_after, everything=False):
        """Asks the coordinator about branches left without an outcome."""
        due = time.time() - check_after
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT txn_id, state FROM branches WHERE state IN ('PREPARED', 'ACTIVE') AND (? OR since < ?)",
                (everything, due),
            ).fetchall()
        for txn_id, state in rows:
            try:
                tx = self.coordinator.GetTransaction(coordinator_pb2.GetTransactionRequest(txn_id=txn_id), timeout=5)
                outcome = coordinator_pb2.Outcome.Name(tx.outcome)
                listed = any(p.name == self.name for p in tx.participants)
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.NOT_FOUND:
                    continue  # the coordinator is away: asked again later
                outcome, listed = "OUTCOME_ABORTED", False
            with self.store.lock:
                if self.store.state(txn_id) != state:
                    continue  # told meanwhile
                if outcome == "OUTCOME_COMMITTED" and state == "PREPARED":
                    self.store.finish(txn_id, commit=True)
                elif outcome == "OUTCOME_ABORTED" or (state == "ACTIVE" and not listed):
                    self.store.finish(txn_id, commit=False)


class Health(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coordinator", required=True, help="the coordinator's host:port")
    parser.add_argument("--listen", default="127.0.0.1:50063", help="host:port to serve on (port 0: any)")
    parser.add_argument("--endpoint", help="host:port the coordinator reaches this service at (default: --listen)")
    parser.add_argument("--name", default="inventory-py", help="the participant name")
    parser.add_argument("--db", default="inventory.sqlite", help="SQLite file of the stock and the branches")
    parser.add_argument("--check-after", type=float, default=30.0, help="seconds before an in-doubt branch is resolved")
    parser.add_argument("--tls-ca", help="mutual TLS: the CA of the coordinator and of callers (PEM)")
    parser.add_argument("--tls-cert", help="mutual TLS: this service's certificate, as server and as client (PEM)")
    parser.add_argument("--tls-key", help="mutual TLS: its key (PEM)")
    parser.add_argument("--stock", action="store_true", help="print the stock as JSON and exit")
    args = parser.parse_args()

    store = Store(args.db)
    if args.stock:
        print(json.dumps(dict(store.db.execute("SELECT sku, units FROM stock ORDER BY sku").fetchall())))
        return
    tls = [args.tls_ca, args.tls_cert, args.tls_key]
    if any(tls) and not all(tls):
        parser.error("mutual TLS needs --tls-ca, --tls-cert and --tls-key")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    if all(tls):
        ca, cert, key = (open(path, "rb").read() for path in tls)
        # Callers (the coordinator, the shop) must present a certificate of the CA.
        port = server.add_secure_port(
            args.listen, grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)
        )
        channel = grpc.secure_channel(args.coordinator, grpc.ssl_channel_credentials(ca, key, cert))
    else:
        port = server.add_insecure_port(args.listen)
        channel = grpc.insecure_channel(args.coordinator)
    coordinator = coordinator_pb2_grpc.CoordinatorStub(channel)
    host = args.listen.rsplit(":", 1)[0]
    service = Inventory(store, args.name, args.endpoint or f"{host}:{port}", coordinator)
    shop_pb2_grpc.add_InventoryServicer_to_server(service, server)
    participant_pb2_grpc.add_ParticipantServicer_to_server(service, server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    server.start()
    print(json.dumps({"listening": port}), flush=True)

    service.resolve(args.check_after, everything=True)
    while True:
        time.sleep(min(5.0, args.check_after / 2))
        service.resolve(args.check_after)


if __name__ == "__main__":
    main()
