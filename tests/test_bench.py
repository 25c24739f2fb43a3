"""The benchmarks still run (a smoke run each): figures are for bench/, not for tests."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import ROOT


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("engine.py", "batched persisted / bare transitions"),
        ("scheduler.py", "forecast and tick: the same happenings, one for one"),
        ("audit.py", "verify per event, big store / small store"),
        ("service.py", "HTTP / in-process throughput, 50 clients"),
        ("dashboard.py", "overview and Gantt under 1 s"),
        ("scale.py", "speed-up, four schedulers / two"),
        ("materials.py", "file get, peak RSS"),
        ("documents.py", "ZIP bomb, bounded peak < 2 MB"),
    ],
)
def test_benchmark_smoke_run(script: str, expected: str) -> None:
    """`--quick` runs to the end and prints its verdict table."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
