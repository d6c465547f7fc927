"""`serve` and `worker` tune the garbage collector at start-up (see gateway/runtime.py for the measurement)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.runtime import GC_GEN0_THRESHOLD, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_raises_the_young_threshold_keeps_the_others_and_freezes_the_start_up_heap() -> None:
    gc.set_threshold(700, 11, 12)
    tune_gc()
    assert gc.get_threshold() == (GC_GEN0_THRESHOLD, 11, 12)
    assert gc.get_freeze_count() > 0
