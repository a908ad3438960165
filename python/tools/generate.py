#!/usr/bin/env python3
"""Generates the package's protobuf modules from the repository's proto files.

    python3 python/tools/generate.py [OUT]

Writes src/twopc/v1/{coordinator,participant}_pb2.py(.pyi) from
proto/twopc/v1 and src/twopc/_health/health_pb2.py(.pyi) from the standard
grpc.health.v1 proto, with `protoc` (3.20 or later: the modules it writes
run on every protobuf runtime from 3.20 on). OUT (default: src) lets a test
generate elsewhere and compare.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
ROOT = os.path.dirname(PACKAGE)
PROTO = os.path.join(ROOT, "proto")
HEALTH = os.path.join(ROOT, "node_modules", "grpc-health-check", "proto", "health", "v1", "health.proto")
TWOPC_FILES = ["twopc/v1/coordinator.proto", "twopc/v1/participant.proto"]
# The health proto is compiled under this package's name, so that its file
# never clashes with grpcio-health-checking's (which is used when installed).
HEALTH_FILE = "twopc/_health/health.proto"


def well_known_types() -> str:
    """Where google/protobuf/*.proto are: grpc_tools ships them, else the system's."""
    try:
        import grpc_tools

        return os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    except ImportError:
        return "/usr/include"


def generate(out: str) -> None:
    protoc = shutil.which("protoc")
    if protoc is None:
        sys.exit("protoc not found: install protobuf-compiler (3.20 or later)")
    with tempfile.TemporaryDirectory() as health_root:
        os.makedirs(os.path.join(health_root, os.path.dirname(HEALTH_FILE)))
        shutil.copy(HEALTH, os.path.join(health_root, HEALTH_FILE))
        for include, files in ((PROTO, TWOPC_FILES), (health_root, [HEALTH_FILE])):
            subprocess.run(
                [protoc, "-I", include, "-I", well_known_types(), f"--python_out={out}", f"--pyi_out={out}", *files],
                check=True,
            )


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else os.path.join(PACKAGE, "src"))
