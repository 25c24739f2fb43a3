"""structlog configuration: one structured line per act, on stderr, never on stdout."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(verbose: bool = False) -> None:
    """Log acts at info level to stderr when `verbose`, else only warnings and errors."""
    level = logging.INFO if verbose else logging.WARNING
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.KeyValueRenderer(
                key_order=["timestamp", "level", "event"], sort_keys=False
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def logger() -> structlog.typing.FilteringBoundLogger:
    """The package's logger (warnings and errors only on stderr until `configure` says more)."""
    if not structlog.is_configured():
        configure(verbose=False)
    return structlog.get_logger("konkurrence_flow")
