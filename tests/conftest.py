"""Shared fixtures: the shipped definition, stores (SQLite, and a throwaway PostgreSQL), people."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ANNA, DEFINITIONS, OLE, SEK, at, empty_postgres

from konkurrence_flow.definitions import Definition, load_definition
from konkurrence_flow.store import Store


@pytest.fixture(scope="session")
def individual() -> Definition:
    """The shipped individual-tender definition."""
    return load_definition(DEFINITIONS / "individual-tender.yaml")


def make_store(url: str, *definitions: Definition) -> Store:
    """A fresh, initialised store with the usual people and the given definitions loaded."""
    store = Store(url)
    store.init("root-user")
    for person in (ANNA, OLE, SEK):
        store.add_person(person)
    for definition in definitions:
        store.load_definition(definition, at("2007-04-01"))
    return store


@pytest.fixture
def store(tmp_path: Path, individual: Definition) -> Store:
    """A SQLite store in a temporary folder, with the individual-tender definition."""
    return make_store(f"sqlite:///{tmp_path / 'kflow.db'}", individual)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find_postgres() -> None:
    """Put PostgreSQL's server binaries on PATH (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ['PATH']}"
            return
    pytest.fail(
        "PostgreSQL's initdb and pg_ctl are not installed (Debian: apt-get install postgresql)"
    )


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the 'postgres' user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1, started for the session and removed after."""
    _find_postgres()
    folder = Path(tempfile.mkdtemp(prefix="kflow-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    subprocess.run(
        _as_postgres(["initdb", "-D", str(data), "-U", "kflow", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    subprocess.run(
        _as_postgres(
            ["pg_ctl", "-D", str(data), "-o", options, "-w", "-l", str(folder / "log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://kflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, individual: Definition
) -> Iterator[Store]:
    """The same store contract on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield make_store(f"sqlite:///{tmp_path / 'kflow.db'}", individual)
        return
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    store = make_store(url, individual)
    yield store
    store.engine.dispose()
