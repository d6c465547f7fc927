"""The native executor tunes the garbage collector when it starts (see providers/native/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from providers.native.collector import GC_GEN0_THRESHOLD, tune_collector
from tests.support.collector import collector_restored


@pytest.fixture
def restored_gc() -> Iterator[None]:
    with collector_restored():
        yield


@pytest.mark.usefixtures("restored_gc")
def test_tune_collector_raises_the_young_threshold_keeps_the_others_and_freezes_the_start_up_heap() -> None:
    gc.set_threshold(700, 11, 12)
    tune_collector()
    assert gc.get_threshold() == (GC_GEN0_THRESHOLD, 11, 12)
    assert gc.get_freeze_count() > 0
