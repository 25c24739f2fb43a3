"""Several processes advancing the same tender at once: one wins, the others are told why."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ANNA, ROOT, SEK, at

from konkurrence_flow.definitions import load_definition
from konkurrence_flow.errors import ConcurrentChange, NotAllowed
from konkurrence_flow.store import NewTender, Store

PROCESSES = 6


def _prepared(db: Path, tenders: int = 1) -> str:
    url = f"sqlite:///{db}"
    store = Store(url)
    store.init("kl-sek")
    store.add_person(ANNA)
    store.load_definition(
        load_definition(ROOT / "definitions/individual-tender.yaml"), at("2007-07-01")
    )
    for n in range(tenders):
        spec = NewTender("individual-tender", "Genoptræning", ("751",), id=f"AAR-{n:02d}")
        store.create_tender(spec, ANNA, at("2007-07-01"))
    return url


def _race(url: str, barrier: mp.synchronize.Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """Read and decide, wait for every rival to have done the same, then all commit at once."""
    store = Store(url)
    unit = store.act(at("2007-08-01"))
    unit.advance("AAR-00", "approve_scope", ANNA)
    barrier.wait()
    try:
        unit.commit()
        results.put("won")
    except ConcurrentChange as exc:
        results.put(f"lost: {exc}")


def test_racing_commits_one_wins_the_rest_are_told_to_try_again(tmp_path: Path) -> None:
    """Six processes that all read version 1 commit together: one succeeds, five must retry."""
    url = _prepared(tmp_path / "race.db")
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(url, barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes.count("won") == 1
    assert outcomes[:-1] == ["lost: tender AAR-00 changed meanwhile; try again"] * (PROCESSES - 1)
    history = Store(url).history("AAR-00")
    assert [e.seq for e in history] == [1, 2]


def test_racing_cli_processes_exit_cleanly(tmp_path: Path) -> None:
    """Six `kflow advance` processes at once: exactly one exits 0, the others 1, no traceback."""
    url = _prepared(tmp_path / "cli.db", tenders=3)
    env = {**os.environ, "KFLOW_DB": url, "KFLOW_USER": "anna", "KFLOW_NOW": "2007-08-01"}
    for n in range(3):
        cmd = [sys.executable, str(ROOT / "cli.py"), "advance", f"AAR-{n:02d}", "approve_scope"]
        procs = [
            subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(PROCESSES)
        ]
        finished = [(p.wait(60), *p.communicate()) for p in procs]
        codes = sorted(code for code, _, _ in finished)
        assert codes == [0] + [1] * (PROCESSES - 1), finished
        for code, _out, err in finished:
            assert "Traceback" not in err
            if code == 1:
                assert ("changed meanwhile; try again" in err) or (
                    "'approve_scope' is not allowed there" in err
                ), err
        history = Store(url).history(f"AAR-{n:02d}")
        assert [e.seq for e in history] == [1, 2]


def test_a_refused_racer_leaves_the_winner_intact(tmp_path: Path) -> None:
    """After the race the loser's retry is judged on the new state."""
    url = _prepared(tmp_path / "after.db")
    store = Store(url)
    store.advance("AAR-00", "approve_scope", ANNA, at("2007-08-01"))
    with pytest.raises(NotAllowed, match=r"tender AAR-00 is in 'materials'"):
        store.advance("AAR-00", "approve_scope", SEK, at("2007-08-01"))
