#!/usr/bin/env python3
"""An inventory service in Python that takes part in twopc transactions, on the twopc package (python/).

It keeps its stock, tentative holds and branch records in SQLite, so
prepared work survives a crash; the package does the rest (joining the
caller's transaction, the branch record, phase-2 dedupe, suspension,
in-doubt recovery, draining on SIGTERM).

    python3 examples/python/inventory.py --coordinator 127.0.0.1:50051 \\
        --listen 127.0.0.1:50063 --db inventory.sqlite \\
        [--tls-ca ca.pem --tls-cert inventory.pem --tls-key inventory.key]

Prints {"listening": PORT} on stdout once serving.

* Reserve (shop.v1.Inventory, examples/proto/shop.proto) with `twopc-txn-id`
  metadata joins the transaction and holds stock tentatively.
* Prepare votes ABORT (with the reason) when the stock not promised to
  prepared branches does not cover the branch's holds; else it promises
  them durably and votes PREPARED; a branch with no holds votes READ_ONLY.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from concurrent import futures
from typing import Any

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
try:
    import twopc
except ImportError:  # run from the repository without installing the package
    sys.path.insert(0, os.path.join(ROOT, "python", "src"))
    import twopc

INITIAL_STOCK = {"widget": 5, "gadget": 2}


def load_shop() -> Any:
    """shop.v1 messages, generated from examples/proto/shop.proto (grpc_tools) unless already there."""
    gen = os.path.join(HERE, "gen")
    source = os.path.join(ROOT, "examples", "proto", "shop.proto")
    target = os.path.join(gen, "shop_pb2.py")
    if not os.path.exists(target) or os.path.getmtime(source) > os.path.getmtime(target):
        os.makedirs(gen, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.dirname(source), f"--python_out={gen}", "shop.proto"],
            check=True,
        )
    sys.path.insert(0, gen)
    import shop_pb2  # type: ignore[import]  # generated just above, untyped

    return shop_pb2


class Stock:
    """Stock, holds and promises in SQLite (synchronous=FULL: a promise is durable before the vote)."""

    def __init__(self, path: str) -> None:
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, units INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS holds (txn_id TEXT NOT NULL, sku TEXT NOT NULL, units INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS promised (txn_id TEXT PRIMARY KEY);
            """
        )
        for sku, units in INITIAL_STOCK.items():
            self.db.execute("INSERT OR IGNORE INTO stock VALUES (?, ?)", (sku, units))

    def units(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT sku, units FROM stock ORDER BY sku").fetchall())

    def hold(self, txn_id: str, sku: str, amount: int) -> bool:
        with self.lock:
            if self.db.execute("SELECT 1 FROM stock WHERE sku = ?", (sku,)).fetchone() is None:
                return False
            self.db.execute("INSERT INTO holds VALUES (?, ?, ?)", (txn_id, sku, amount))
            return True

    # The three handlers of twopc.ParticipantHandlers

    def prepare(self, txn_id: str) -> twopc.Vote:
        with self.lock:
            held = self.db.execute("SELECT sku, SUM(units) FROM holds WHERE txn_id = ? GROUP BY sku", (txn_id,)).fetchall()
            if not held:
                return twopc.Vote.READ_ONLY
            for sku, asked in held:
                # What prepared branches have not already been promised.
                (available,) = self.db.execute(
                    "SELECT s.units - COALESCE((SELECT SUM(h.units) FROM holds h JOIN promised p USING (txn_id)"
                    " WHERE h.sku = s.sku), 0) FROM stock s WHERE s.sku = ?",
                    (sku,),
                ).fetchone()
                if available < asked:
                    return twopc.Vote.abort(f"only {available} units of '{sku}' available, {asked} asked")
            self.db.execute("INSERT OR IGNORE INTO promised VALUES (?)", (txn_id,))
            return twopc.Vote.PREPARED

    def commit(self, txn_id: str) -> None:
        self._finish(txn_id, commit=True)

    def abort(self, txn_id: str, reason: str) -> None:
        self._finish(txn_id, commit=False)

    def _finish(self, txn_id: str, commit: bool) -> None:
        """Applies (commit) or drops the branch's holds in one local transaction; idempotent."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if commit:
                    self.db.execute(
                        "UPDATE stock SET units = units - (SELECT COALESCE(SUM(units), 0) FROM holds h"
                        " WHERE h.txn_id = ? AND h.sku = stock.sku)",
                        (txn_id,),
                    )
                self.db.execute("DELETE FROM holds WHERE txn_id = ?", (txn_id,))
                self.db.execute("DELETE FROM promised WHERE txn_id = ?", (txn_id,))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise


def main() -> None:
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

    stock = Stock(args.db)
    if args.stock:
        print(json.dumps(stock.units()))
        return
    tls_args = [args.tls_ca, args.tls_cert, args.tls_key]
    if any(tls_args) and not all(tls_args):
        parser.error("mutual TLS needs --tls-ca, --tls-cert and --tls-key")
    tls = twopc.TlsFiles(args.tls_ca, args.tls_cert, args.tls_key) if all(tls_args) else None
    shop = load_shop()

    participant = twopc.TwopcParticipant(
        name=args.name,
        endpoint=args.endpoint or args.listen,
        coordinator=args.coordinator,
        tls=tls,
        handlers=stock,
        branches=twopc.SqliteBranchStore(args.db),
        check_after_s=args.check_after,
        check_every_s=min(5.0, args.check_after / 2),
    )

    def reserve(request: Any, context: grpc.ServicerContext) -> Any:
        txn_id = twopc.current_txn_id()
        if txn_id is None:
            return context.abort(grpc.StatusCode.FAILED_PRECONDITION, "Reserve runs inside a transaction (twopc-txn-id)")
        if request.amount <= 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "amount must be positive")
        if not stock.hold(txn_id, request.key, request.amount):
            context.abort(grpc.StatusCode.NOT_FOUND, f"no such item: '{request.key}'")
        return shop.TakeResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), interceptors=[participant.interceptor])
    participant.add_to(server)
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "shop.v1.Inventory",
                {
                    "Reserve": grpc.unary_unary_rpc_method_handler(
                        reserve,
                        request_deserializer=shop.TakeRequest.FromString,
                        response_serializer=shop.TakeResponse.SerializeToString,
                    )
                },
            ),
        )
    )
    if tls is not None:
        port = server.add_secure_port(args.listen, twopc.server_credentials(tls))
    else:
        port = server.add_insecure_port(args.listen)
    if args.endpoint is None:
        participant.endpoint = f"{args.listen.rsplit(':', 1)[0]}:{port}"
    server.start()
    participant.start()  # branches an earlier run left prepared: asked about at once
    print(json.dumps({"listening": port}), flush=True)

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    participant.stop(server, grace_s=10)


if __name__ == "__main__":
    main()
