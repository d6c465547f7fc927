"""The one list page (gateway/core/page.py) and the named pages built on it keep OpenAI's shape to the byte."""

from __future__ import annotations

import msgspec
import pytest

from accounting.records import LedgerPage
from gateway.batches.wire import BatchList
from gateway.core.page import Page
from gateway.files.records import FileList, FileObject
from gateway.http.accounting import AccountingPage
from gateway.webhooks.records import WebhookEndpointList


def _file(file_id: str) -> FileObject:
    return FileObject(id=file_id, bytes=1, created_at=0, expires_at=None, filename="a.jsonl", purpose="batch")


def test_a_page_names_its_first_and_last_ids() -> None:
    page = FileList.of([_file("file-a"), _file("file-b"), _file("file-c")], has_more=True)
    assert (page.first_id, page.last_id, page.has_more) == ("file-a", "file-c", True)
    assert [item.id for item in page.data] == ["file-a", "file-b", "file-c"]


def test_an_empty_page_has_null_ids_and_every_key() -> None:
    encoded = msgspec.json.encode(FileList.of((), has_more=False))
    assert encoded == b'{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}'


def test_ids_may_be_read_from_another_field() -> None:
    page = Page[dict[str, str]].of([{"key": "x"}, {"key": "y"}], has_more=False, id_of=lambda item: item["key"])
    assert (page.first_id, page.last_id) == ("x", "y")


@pytest.mark.parametrize("page", [FileList, BatchList, WebhookEndpointList, AccountingPage, LedgerPage])
def test_every_named_page_keeps_the_key_order(page: type[Page[object]]) -> None:
    assert issubclass(page, Page)
    assert page.__struct_fields__ == ("object", "data", "first_id", "last_id", "has_more")


def test_the_openapi_document_keeps_a_component_per_page_with_its_items() -> None:
    from gateway.config.settings import default_settings
    from gateway.http.app import create_app

    schemas = create_app(default_settings()).openapi_schema.to_schema()["components"]["schemas"]
    items = {"FileList": "FileObject", "BatchList": "BatchObject", "WebhookEndpointList": "WebhookEndpointObject"}
    items["AccountingPage"] = "AccountingRecord"
    for page, item in items.items():
        assert list(schemas[page]["properties"]) == ["object", "data", "first_id", "last_id", "has_more"]
        assert schemas[page]["properties"]["data"]["items"] == {"$ref": f"#/components/schemas/{item}"}
