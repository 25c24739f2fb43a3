"""konkurrence-flow: a workflow engine for public tender processes.

The public API is listed in `__all__` and imported lazily, so that importing one light module
(`konkurrence_flow.errors`, say) does not pull in SQLModel and friends.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "ConcurrentChange",
    "Definition",
    "DefinitionError",
    "Event",
    "KonkurrenceFlowError",
    "NewTender",
    "NotAllowed",
    "NotFound",
    "Person",
    "Store",
    "Tender",
    "load_definition",
    "parse_definition",
]

_HOME = {
    "ConcurrentChange": "errors",
    "DefinitionError": "errors",
    "KonkurrenceFlowError": "errors",
    "NotAllowed": "errors",
    "NotFound": "errors",
    "Definition": "definitions",
    "load_definition": "definitions",
    "parse_definition": "definitions",
    "Event": "model",
    "Person": "model",
    "Tender": "model",
    "NewTender": "model",
    "Store": "store",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'konkurrence_flow' has no attribute '{name}'")
    return getattr(import_module(f".{_HOME[name]}", __name__), name)
