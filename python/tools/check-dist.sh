#!/usr/bin/env bash
# The package as an application gets it: a wheel and an sdist built with
# Debian's python3-build (no package index), each installed into a fresh
# virtual environment that sees Debian's grpcio, protobuf and psycopg, then
# imported and used to run the example's tests; and mypy --strict.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd python && mypy && mypy ../examples/python/inventory.py ../test/python/bank_service.py)
$PY -m build --no-isolation --sdist --wheel --outdir "$work/dist" python >/dev/null
ls "$work/dist"
for artifact in "$work"/dist/twopc-*.whl "$work"/dist/twopc-*.tar.gz; do
  venv="$work/venv-$(basename "$artifact")"
  $PY -m venv --system-site-packages "$venv"
  # --no-build-isolation: the sdist builds with Debian's setuptools, offline.
  "$venv/bin/pip" install --quiet --no-index --no-build-isolation "$artifact"
  "$venv/bin/python" - "$venv" <<'PY'
import sys, twopc, twopc.aio, twopc.pg
assert twopc.__file__.startswith(sys.argv[1]), f"imported {twopc.__file__}, not the installed package"
import importlib.resources as r
assert r.files("twopc").joinpath("py.typed").is_file(), "py.typed is missing"
assert r.files("twopc").joinpath("v1/coordinator_pb2.pyi").is_file(), "the message stubs are missing"
print("installed", twopc.__version__, "at", twopc.__file__)
PY
  TWOPC_PYTHON="$venv/bin/python" npx mocha test/python/python-participant.test.ts \
    -g 'commits a transaction|conformance kit'
done
