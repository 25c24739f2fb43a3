"""JSON that every reader can parse: no NaN or Infinity (a fact a v0.1.0 store may hold as NaN
is written as null). Light on purpose: the CLI's remote mode imports it."""

from __future__ import annotations

import math
from typing import Any


def finite(data: Any) -> Any:
    """`data` with every non-finite float replaced by None, through dicts, lists and tuples."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data
