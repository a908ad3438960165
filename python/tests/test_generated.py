"""The checked-in protobuf modules match proto/ (regenerate with tools/generate.py)."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from google.protobuf import descriptor_pb2

from twopc._health import health_pb2
from twopc.v1 import coordinator_pb2, participant_pb2

PACKAGE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ROOT = os.path.dirname(PACKAGE)
sys.path.insert(0, os.path.join(PACKAGE, "tools"))
import generate  # noqa: E402


def compiled(include: str, name: str) -> descriptor_pb2.FileDescriptorProto:
    """The descriptor protoc makes of a proto file now (grpc_tools' protoc: any version will do)."""
    with tempfile.TemporaryDirectory() as out:
        target = os.path.join(out, "set.pb")
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", "-I", include, "-I", generate.well_known_types(),
             f"--descriptor_set_out={target}", name],
            check=True,
        )
        with open(target, "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
    (found,) = [f for f in files if f.name == name]
    return found


def without_json_names(fd: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """A descriptor set carries each field's json_name, a generated module does not: compared without them."""
    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(fd)
    messages = list(copy.message_type)
    while messages:
        message = messages.pop()
        for field in message.field:
            field.ClearField("json_name")
        messages.extend(message.nested_type)
    return copy


@pytest.mark.parametrize("module", [coordinator_pb2, participant_pb2], ids=["coordinator", "participant"])
def test_the_twopc_modules_describe_the_proto_files_as_they_are(module: object) -> None:
    shipped = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)  # type: ignore[attr-defined]
    now = compiled(generate.PROTO, shipped.name)
    assert without_json_names(shipped) == without_json_names(now), f"{shipped.name} changed: run python3 python/tools/generate.py"


def test_the_health_module_describes_the_standard_health_proto() -> None:
    shipped = descriptor_pb2.FileDescriptorProto.FromString(health_pb2.DESCRIPTOR.serialized_pb)
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, os.path.dirname(generate.HEALTH_FILE)))
        shutil.copy(generate.HEALTH, os.path.join(root, generate.HEALTH_FILE))
        assert without_json_names(shipped) == without_json_names(compiled(root, generate.HEALTH_FILE))


@pytest.mark.skipif(shutil.which("protoc") is None, reason="protoc (protobuf-compiler) not installed")
def test_regenerating_gives_the_same_files() -> None:
    with tempfile.TemporaryDirectory() as out:
        generate.generate(out)
        for rel in ("twopc/v1/coordinator_pb2.py", "twopc/v1/coordinator_pb2.pyi", "twopc/v1/participant_pb2.py",
                    "twopc/v1/participant_pb2.pyi", "twopc/_health/health_pb2.py", "twopc/_health/health_pb2.pyi"):
            assert filecmp.cmp(os.path.join(out, rel), os.path.join(PACKAGE, "src", rel), shallow=False), (
                f"{rel} differs from what tools/generate.py makes now: run it"
            )
