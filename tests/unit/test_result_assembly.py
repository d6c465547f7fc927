"""Result assembly keeps the provider's error lines as they are, error object included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec

from gateway.worker.results import assemble
from tests.support.blobs import DirBlobs


async def _items(*items: object) -> AsyncIterator[bytes]:
    for item in items:
        yield msgspec.json.encode(item)


async def _ids(*ids: str) -> AsyncIterator[str]:
    for custom_id in ids:
        yield custom_id


async def test_an_error_line_with_an_error_object_is_kept_not_replaced(tmp_path: Path) -> None:
    blobs = DirBlobs(tmp_path / "blobs")
    ok = {"custom_id": "a", "response": {"status_code": 200, "body": {}}, "error": None}
    refused = {"custom_id": "b", "response": None, "error": {"code": "batch_failed", "message": "refused upstream"}}
    assembly = await assemble(
        storage=blobs, spool_dir=tmp_path / "spool", lines=_items(ok, refused), custom_ids=_ids("a", "b", "c"),
        output_key="out", error_key="err", never_ran_code="result_missing",
    )  # fmt: skip
    assert (assembly.completed, assembly.failed) == (1, 2)
    errors = [msgspec.json.decode(x) for x in (tmp_path / "blobs" / "err").read_bytes().splitlines()]
    assert [(e["custom_id"], e["error"]["code"]) for e in errors] == [("b", "batch_failed"), ("c", "result_missing")]
