"""Sends one fuzzed upload to a live gateway and checks what it must leave behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.fuzz.invariants import assert_envelope, stored_objects
from tests.fuzz.multipart_bodies import MultipartCase

__all__ = ["UploadProbe"]


def _refused_by_http_parser(content_type: str, response: httpx.Response) -> bool:
    """uvicorn's HTTP parser answers a header with control or non-ASCII bytes itself, before the app runs."""
    if all(" " <= char <= "~" for char in content_type) or "x-request-id" in response.headers:
        return False
    assert response.status_code == 400, response.text[:300]
    assert response.text == "Invalid HTTP request received."
    return True


class UploadProbe:
    """One gateway, one tenant key, one storage root: `check(case)` asserts every upload invariant."""

    def __init__(self, client: httpx.Client, storage_root: Path) -> None:
        self.client = client
        self.storage_root = storage_root
        self.sent = 0
        self.accepted = 0

    def check(self, case: MultipartCase) -> httpx.Response:
        before = stored_objects(self.storage_root)
        headers = {b"content-type": case.content_type.encode("utf-8", "surrogatepass")}
        content: bytes | Iterator[bytes] = iter([case.body]) if case.chunked else case.body
        response = self.client.post("/v1/files", content=content, headers=headers)
        self.sent += 1
        if _refused_by_http_parser(case.content_type, response):
            return response
        if response.status_code == 200:  # deleted again before any check can fail, so examples stay independent
            self.accepted += 1
            self._forget(response.json())
        assert_envelope(response)
        # Rejected or deleted again: storage and the file index are exactly as before.
        assert stored_objects(self.storage_root) == before, "a rejected upload left something in storage"
        listed = self.client.get("/v1/files")
        assert listed.status_code == 200
        assert listed.json()["data"] == [], listed.text[:300]
        return response

    def _forget(self, file_object: dict[str, object]) -> None:
        assert file_object["object"] == "file"
        assert isinstance(file_object["bytes"], int)
        file_id = str(file_object["id"])
        content = self.client.get(f"/v1/files/{file_id}/content")
        assert content.status_code == 200
        assert len(content.content) == file_object["bytes"]
        assert self.client.delete(f"/v1/files/{file_id}").status_code == 200
