"""How many examples a fuzzer runs: a short run by default, a long one under `make fuzz` (FUZZ_EXAMPLES=N)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["long_run", "short_run"]

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]


def short_run(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=_SUPPRESSED)


def long_run(default: int) -> settings:
    """The slow run; `FUZZ_EXAMPLES` overrides the count. No database writes are skipped: finds are kept."""
    examples = int(os.environ.get("FUZZ_EXAMPLES", default))
    return settings(max_examples=examples, deadline=None, suppress_health_check=_SUPPRESSED)
