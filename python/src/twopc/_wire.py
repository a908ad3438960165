"""The gRPC methods of the contract, typed: paths, serializers and the channel settings.

Written against grpc's generic API instead of grpc_tools' generated stubs,
so that the package is fully typed and needs no code generator at run time.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Generic, TypeVar

from ._health import health_pb2 as _own_health_pb2
from .v1 import coordinator_pb2 as cpb
from .v1 import participant_pb2 as ppb

try:  # grpcio-health-checking's messages when installed: one definition per process.
    from grpc_health.v1 import health_pb2 as _std_health_pb2

    health_pb2: Any = _std_health_pb2
except ImportError:
    health_pb2 = _own_health_pb2

Req = TypeVar("Req")
Res = TypeVar("Res")


class Method(Generic[Req, Res]):
    """One unary method: its path and how its messages are (de)serialized."""

    def __init__(self, service: str, name: str, request: Any, response: Any) -> None:
        self.path = f"/{service}/{name}"
        self.name = name
        self.request: Callable[[bytes], Req] = request.FromString
        self.response: Callable[[bytes], Res] = response.FromString

    @staticmethod
    def serialize(message: Any) -> bytes:
        data: bytes = message.SerializeToString()
        return data


COORDINATOR = "twopc.v1.Coordinator"
PARTICIPANT = "twopc.v1.Participant"
HEALTH = "grpc.health.v1.Health"

BEGIN: Method[cpb.BeginRequest, cpb.BeginResponse] = Method(COORDINATOR, "Begin", cpb.BeginRequest, cpb.BeginResponse)
ENLIST: Method[cpb.EnlistRequest, cpb.EnlistResponse] = Method(
    COORDINATOR, "Enlist", cpb.EnlistRequest, cpb.EnlistResponse
)
HEARTBEAT: Method[cpb.HeartbeatRequest, cpb.HeartbeatResponse] = Method(
    COORDINATOR, "Heartbeat", cpb.HeartbeatRequest, cpb.HeartbeatResponse
)
COMMIT: Method[cpb.CommitRequest, cpb.CommitResponse] = Method(
    COORDINATOR, "Commit", cpb.CommitRequest, cpb.CommitResponse
)
ABORT: Method[cpb.AbortRequest, cpb.AbortResponse] = Method(COORDINATOR, "Abort", cpb.AbortRequest, cpb.AbortResponse)
GET: Method[cpb.GetTransactionRequest, cpb.Transaction] = Method(
    COORDINATOR, "GetTransaction", cpb.GetTransactionRequest, cpb.Transaction
)
LIST: Method[cpb.ListTransactionsRequest, cpb.ListTransactionsResponse] = Method(
    COORDINATOR, "ListTransactions", cpb.ListTransactionsRequest, cpb.ListTransactionsResponse
)

PREPARE: Method[ppb.PrepareRequest, ppb.PrepareResponse] = Method(
    PARTICIPANT, "Prepare", ppb.PrepareRequest, ppb.PrepareResponse
)
PARTICIPANT_COMMIT: Method[ppb.ParticipantCommitRequest, ppb.ParticipantCommitResponse] = Method(
    PARTICIPANT, "Commit", ppb.ParticipantCommitRequest, ppb.ParticipantCommitResponse
)
PARTICIPANT_ABORT: Method[ppb.ParticipantAbortRequest, ppb.ParticipantAbortResponse] = Method(
    PARTICIPANT, "Abort", ppb.ParticipantAbortRequest, ppb.ParticipantAbortResponse
)
HEALTH_CHECK: Method[Any, Any] = Method(HEALTH, "Check", health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse)

# Client-side balancing over every coordinator a target resolves to, gRPC's
# own retry of UNAVAILABLE (every twopc call is idempotent), and keepalive
# pings that drop a coordinator which stopped answering (a paused process
# keeps its connections open).
CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    (
        "grpc.service_config",
        json.dumps(
            {
                "loadBalancingConfig": [{"round_robin": {}}],
                "methodConfig": [
                    {
                        "name": [{"service": COORDINATOR}],
                        "retryPolicy": {
                            "maxAttempts": 4,
                            "initialBackoff": "0.05s",
                            "maxBackoff": "1s",
                            "backoffMultiplier": 2,
                            "retryableStatusCodes": ["UNAVAILABLE"],
                        },
                    }
                ],
            }
        ),
    ),
    ("grpc.enable_retries", 1),
    ("grpc.keepalive_time_ms", 3000),
    ("grpc.keepalive_timeout_ms", 2000),
)
