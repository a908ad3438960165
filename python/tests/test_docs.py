"""The Python blocks of docs/python.md and python/README.md: each compiles; the client block runs against a coordinator."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import Coordinator

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGES = ["docs/python.md", "python/README.md"]


def blocks(page: str) -> list[tuple[str, str, str]]:
    """(where, tag, code) of each ```python block."""
    with open(os.path.join(ROOT, page)) as f:
        text = f.read()
    found = []
    for m in re.finditer(r"^```python ?(\S*)\n(.*?)^```", text, re.M | re.S):
        line = text[: m.start()].count("\n") + 1
        found.append((f"{page}:{line}", m.group(1), m.group(2)))
    return found


ALL = [b for page in PAGES for b in blocks(page)]


@pytest.mark.parametrize("where,tag,code", ALL, ids=[b[0] for b in ALL])
def test_each_block_compiles(where: str, tag: str, code: str) -> None:
    if tag == "fragment":
        # An excerpt (an await outside a coroutine, names from around it): compiled inside one.
        code = "async def _fragment():\n" + "".join(f"    {line}\n" for line in code.splitlines())
    compile(code, where, "exec")


def test_the_client_block_runs(coordinator: Coordinator) -> None:
    (code,) = [c for _, tag, c in ALL if tag == "client.py"]
    env = {**os.environ, "TWOPC_ADDRESS": coordinator.address, "PYTHONPATH": os.path.join(ROOT, "python", "src")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "COMMITTED"
