"""What both benchmarks share: the commit measured, verdicts, profiles."""

from __future__ import annotations

import cProfile
import pstats
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def source_version() -> str:
    """The commit measured (`-dirty` when the working tree has uncommitted changes)."""
    command = ["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=7"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return done.stdout.strip()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_profile(title: str, call: Callable[..., Any], *args: Any, top: int = 25) -> None:
    """cProfile of one call: the top entries by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(call, *args)
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    print(f"\ncProfile of the {title}")
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
