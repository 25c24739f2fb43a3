"""A throwaway PostgreSQL cluster for the benchmarks: started with initdb and pg_ctl, then removed.

The same recipe as the tests' `postgres_url` fixture (`tests/conftest.py`), copied rather than
imported (benchmarks do not depend on the test suite): trust authentication for the user `kflow`,
listening on 127.0.0.1 on a free port, `fsync=off` (nothing in it must survive a crash). As root it
runs PostgreSQL's binaries as the user `postgres`, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its port and folder (data directory, socket, log)."""

    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://kflow@127.0.0.1:{self.port}/{database}"

    def admin(self) -> Engine:
        """An engine on the maintenance database, in autocommit (CREATE/DROP DATABASE need it)."""
        return create_engine(self.url(), isolation_level="AUTOCOMMIT")

    def version(self) -> str:
        engine = self.admin()
        with engine.connect() as conn:
            found = str(conn.execute(text("SHOW server_version")).scalar_one())
        engine.dispose()
        return found


@contextmanager
def throwaway_cluster(keep: bool = False) -> Iterator[Cluster]:
    """Start a cluster in a new temporary folder; stop it and remove the folder (unless `keep`)."""
    find_binaries()
    folder = Path(tempfile.mkdtemp(prefix="kflow-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    run(["initdb", "-D", str(data), "-U", "kflow", "--auth=trust", "-E", "UTF8"])
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    run(["pg_ctl", "-D", str(data), "-o", options, "-w", "-l", str(folder / "log"), "start"])
    try:
        yield Cluster(port, folder)
    finally:
        run(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"], check=False)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def find_binaries() -> None:
    """Put PostgreSQL's server binaries on PATH (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ['PATH']}"
            return
    raise SystemExit(
        "PostgreSQL's initdb and pg_ctl are not installed (Debian: apt-get install postgresql); "
        "run with --backend sqlite to measure SQLite alone"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(command: list[str], check: bool = True) -> None:
    """Run one of PostgreSQL's binaries (as `postgres` when we are root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=check, capture_output=True)
