#!/usr/bin/env python3
"""One bank of the mixed-language tests, in Python: a PostgreSQL database made a
participant by twopc.pg.PgParticipant, behind the package's helper (threads,
or grpc.aio with --aio) with a durable branch store. The twin of
test/support/bank-process.ts. argv[1]: JSON {name, databaseUrl, coordinator,
port, aio}. Prints {"listening": PORT} once serving; drains on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent import futures
from typing import Any

import grpc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python", "src"))

import twopc  # noqa: E402
from twopc.aio import AsyncTwopcParticipant  # noqa: E402
from twopc.pg import PgParticipant  # noqa: E402


def load_bank() -> Any:
    """bank.v1 messages, generated from test/support/bank.proto into a scratch directory."""
    out = tempfile.mkdtemp(prefix="twopc-bank-py-")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(ROOT, "test", "support"), f"--python_out={out}", "bank.proto"],
        check=True,
    )
    sys.path.insert(0, out)
    import bank_pb2  # type: ignore[import]  # generated just above, untyped

    return bank_pb2


def apply(bank: PgParticipant, txn_id: str | None, account: str, delta: int) -> str | None:
    """The business call: adds delta to an account inside the branch; returns what is wrong, if anything."""
    if txn_id is None:
        return "Apply needs a transaction"
    with bank.work(txn_id) as conn:
        updated = conn.execute(
            "UPDATE accounts SET balance = balance + %s WHERE id = %s AND balance + %s >= 0", (delta, account, delta)
        ).rowcount
        if updated == 0:
            # Nothing written: the branch stays usable (as in the TypeScript bank).
            return f"insufficient funds in {account}"
        conn.execute("INSERT INTO transfers (txn_id, account, delta) VALUES (%s, %s, %s)", (txn_id, account, delta))
    return None


def handler(bank_pb2: Any, fn: Any) -> Any:
    return grpc.method_handlers_generic_handler(
        "bank.v1.Bank",
        {
            "Apply": grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=bank_pb2.ApplyRequest.FromString, response_serializer=bank_pb2.ApplyResponse.SerializeToString
            )
        },
    )


def serve_threads(spec: dict[str, Any], bank: PgParticipant, bank_pb2: Any) -> None:
    participant = twopc.TwopcParticipant(
        name=spec["name"], endpoint="", coordinator=spec["coordinator"], handlers=bank,
        branches=bank.branch_store(), check_after_s=1.0, check_every_s=0.5,
    )

    def on_apply(request: Any, context: grpc.ServicerContext) -> Any:
        problem = apply(bank, twopc.current_txn_id(), request.account, request.delta)
        if problem is not None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, problem)
        return bank_pb2.ApplyResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), interceptors=[participant.interceptor])
    participant.add_to(server)
    server.add_generic_rpc_handlers((handler(bank_pb2, on_apply),))
    port = server.add_insecure_port(f"127.0.0.1:{spec.get('port', 0)}")
    participant.endpoint = f"127.0.0.1:{port}"
    server.start()
    participant.start()
    print(json.dumps({"listening": port}), flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stopping.wait()
    participant.stop(server, grace_s=10)


async def serve_aio(spec: dict[str, Any], bank: PgParticipant, bank_pb2: Any) -> None:
    participant = AsyncTwopcParticipant(
        name=spec["name"], endpoint="", coordinator=spec["coordinator"], handlers=bank,
        branches=bank.branch_store(), check_after_s=1.0, check_every_s=0.5,
    )

    async def on_apply(request: Any, context: Any) -> Any:
        problem = await asyncio.to_thread(apply, bank, twopc.current_txn_id(), request.account, request.delta)
        if problem is not None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, problem)
        return bank_pb2.ApplyResponse()

    server = grpc.aio.server(interceptors=[participant.interceptor])
    participant.add_to(server)
    server.add_generic_rpc_handlers((handler(bank_pb2, on_apply),))
    port = server.add_insecure_port(f"127.0.0.1:{spec.get('port', 0)}")
    participant.endpoint = f"127.0.0.1:{port}"
    await server.start()
    participant.start()
    print(json.dumps({"listening": port}), flush=True)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await stopping.wait()
    await participant.stop(server, grace_s=10)


def main() -> None:
    spec = json.loads(sys.argv[1])
    bank_pb2 = load_bank()
    # lock_timeout: two transfers crossing two databases in opposite orders
    # wait on each other where no single database sees a deadlock; one gives up.
    conninfo = spec["databaseUrl"] + ("&" if "?" in spec["databaseUrl"] else "?") + "options=-c%20lock_timeout%3D1000"
    bank = PgParticipant(conninfo, name=spec["name"])
    bank.set_up()
    if spec.get("aio"):
        asyncio.run(serve_aio(spec, bank, bank_pb2))
    else:
        serve_threads(spec, bank, bank_pb2)
    bank.close()


if __name__ == "__main__":
    main()
