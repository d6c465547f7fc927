"""Small pieces: metadata options, error envelopes, safe download names, exit codes per final status."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from rich.console import Console

from gateway.client.errors import ExitCode, UsageProblem
from gateway.client.files import _default_name
from gateway.client.results import report
from gateway.client.submit import parse_metadata
from gateway.client.wire import BatchView, error_message


def test_parse_metadata() -> None:
    assert parse_metadata(()) is None
    assert parse_metadata(("a=1", "b=x=y", "c=")) == {"a": "1", "b": "x=y", "c": ""}
    for bad in ("novalue", "=v"):
        with pytest.raises(UsageProblem):
            parse_metadata((bad,))


def test_error_message_reads_the_envelope_or_falls_back() -> None:
    envelope = b'{"error": {"message": "No such File object: f", "type": "invalid_request_error"}}'
    assert error_message(envelope) == "No such File object: f"
    assert error_message(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert error_message(b'{"error": null}') == '{"error": null}'
    assert error_message(b"") == "(no message)"


@pytest.mark.parametrize(
    ("name", "expected"), [("in.jsonl", "in.jsonl"), ("../../etc/x", "x"), ("a/b.jsonl", "b.jsonl"), ("..", "file-1")]
)
def test_download_name_never_leaves_the_directory(name: str, expected: str) -> None:
    assert _default_name(name, "file-1") == Path(expected)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("completed", ExitCode.OK),
        ("failed", ExitCode.BATCH_NOT_COMPLETED),
        ("expired", ExitCode.BATCH_NOT_COMPLETED),
        ("cancelled", ExitCode.BATCH_NOT_COMPLETED),
    ],
)
def test_report_exit_codes(status: str, code: ExitCode) -> None:
    console = Console(record=True, width=200)
    raw = b'{"id": "batch_1", "status": "%s", "errors": {"data": [{"code": "bad", "message": "m [x]", "line": 3}]}}'
    batch = msgspec.json.decode(raw % status.encode(), type=BatchView)
    assert report(batch, console) == code
    text = console.export_text()
    assert f"batch_1 {status}" in text
    assert ("line 3: bad: m [x]" in text) == (status != "completed")
