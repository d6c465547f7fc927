"""The custom_id list the validating step stores beside a batch: written from the validator, read back."""

from __future__ import annotations

from pathlib import Path

from gateway.storage.local import LocalStorage
from gateway.worker.custom_ids import read_custom_ids, store_custom_ids


async def test_ids_round_trip_in_order_across_chunks(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    ids = [f"req-{index}" for index in range(20_000)] + ['quote " and \\ backslash', "é ü 中", "x" * 64]
    await store_custom_ids(storage, "batches/b/custom_ids", iter(ids))
    assert [custom_id async for custom_id in read_custom_ids(storage, "batches/b/custom_ids")] == ids
