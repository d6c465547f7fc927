"""Fuzzing `POST /v1/files` over loopback: random boundaries, parts, headers, truncations and huge values.

Invariants (see `UploadProbe.check`): never a 5xx, every error in OpenAI's envelope with a request id, and a
rejected upload leaves nothing in storage or in the file index. The corpus in `corpus/upload/` replays
saved inputs: each file is the Content-Type header on the first line, then the body bytes as sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given

from tests.fuzz.budget import long_run, short_run
from tests.fuzz.multipart_bodies import MultipartCase, multipart_cases
from tests.fuzz.upload_client import UploadProbe

CORPUS = Path(__file__).parent / "corpus" / "upload"


def load_case(path: Path) -> tuple[MultipartCase, int]:
    """A corpus file: `<status> <content-type>` then a newline, then the body; the status is what we expect."""
    head, _, body = path.read_bytes().partition(b"\n")
    status, _, content_type = head.decode("utf-8").partition(" ")
    return MultipartCase(content_type, body, chunked=path.stem.endswith("chunked")), int(status)


def test_corpus_replays(upload_probe: UploadProbe) -> None:
    """One gateway for the whole corpus (starting one per file would cost more than the replays)."""
    paths = sorted(CORPUS.glob("*.multipart"))
    assert len(paths) >= 20
    answered = {}
    for path in paths:
        case, _ = load_case(path)
        answered[path.stem] = upload_probe.check(case).status_code
    assert answered == {path.stem: load_case(path)[1] for path in paths}


@short_run(200)
@given(case=multipart_cases())
def test_fuzzed_uploads(upload_probe: UploadProbe, case: MultipartCase) -> None:
    upload_probe.check(case)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@long_run(25_000)
@given(case=multipart_cases())
def test_fuzzed_uploads_long(upload_probe: UploadProbe, case: MultipartCase) -> None:
    upload_probe.check(case)
