"""The seed workflow with the openai SDK against a gateway whose worker drives a scripted provider."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import TENANT_KEYS
from tests.support.gateway_server import GatewayServer
from tests.support.schemas import assert_matches
from tests.support.scripted_provider import ScriptedProvider
from tests.support.workflow import MODEL, jsonl, line, raw_batch, wait_for


def test_seed_workflow_completes_with_exact_files_counts_and_usage(
    sdk: openai.OpenAI, served: GatewayServer, tmp_path: Path
) -> None:
    ids = ["a", "b", "fail-c", "d"]
    path = tmp_path / "batch_requests.jsonl"
    path.write_bytes(jsonl([line(i) for i in ids]))
    with path.open("rb") as handle:
        upload = sdk.files.create(file=handle, purpose="batch")
    batch = sdk.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h", metadata={"job": "eval"}
    )
    assert batch.status == "validating"
    assert_matches("Batch", raw_batch(served, batch.id))

    done = wait_for(sdk, batch.id, {"completed", "failed"})
    assert done.status == "completed", done.errors
    body = raw_batch(served, batch.id)
    assert body["model"] == MODEL
    assert body["request_counts"] == {"total": 4, "completed": 3, "failed": 1}
    assert body["metadata"] == {"job": "eval"}
    for stamp in ("in_progress_at", "finalizing_at", "completed_at"):
        assert isinstance(body[stamp], int)
    assert body["failed_at"] is None

    output = [json.loads(x) for x in sdk.files.content(done.output_file_id or "").text.splitlines()]
    errors = [json.loads(x) for x in sdk.files.content(done.error_file_id or "").text.splitlines()]
    for item in output + errors:
        assert_matches("BatchRequestOutput", item)
    assert sorted(item["custom_id"] for item in output) == ["a", "b", "d"]
    assert [item["custom_id"] for item in errors] == ["fail-c"]
    assert errors[0]["response"]["status_code"] == 400
    # The scripted provider gives line i prompt 10+i (2 cached) and 5 completion tokens; the 400 line has none.
    assert body["usage"] == {
        "input_tokens": 10 + 11 + 13,
        "input_tokens_details": {"cached_tokens": 6},
        "output_tokens": 15,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 34 + 15,
    }
    result_file = sdk.files.retrieve(done.output_file_id or "")
    assert result_file.purpose == "batch_output"


def test_content_problems_fail_the_batch_with_line_numbers(sdk: openai.OpenAI, served: GatewayServer) -> None:
    content = jsonl([line("a"), line("a"), line("b", url="/v1/embeddings")]) + b"not json\n"
    upload = sdk.files.create(file=("bad.jsonl", content), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    failed = wait_for(sdk, batch.id, {"failed", "completed"})
    assert failed.status == "failed"
    assert failed.errors is not None
    found = {(error.code, error.line) for error in failed.errors.data or []}
    assert ("duplicate_custom_id", 2) in found
    assert ("url_mismatch", 3) in found
    assert ("invalid_json_line", 4) in found
    assert failed.output_file_id is None
    assert failed.error_file_id is None
    assert_matches("Batch", raw_batch(served, batch.id))


def test_unrouted_model_fails_validation(sdk: openai.OpenAI) -> None:
    upload = sdk.files.create(file=("x.jsonl", jsonl([line("a", model="nobody-serves-this")])), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    failed = wait_for(sdk, batch.id, {"failed", "completed"})
    assert failed.status == "failed"
    assert failed.errors is not None
    assert failed.errors.data is not None
    assert failed.errors.data[0].line == 1


def test_cancel_running_batch_keeps_finished_results(
    sdk: openai.OpenAI, served: GatewayServer, scripted: ScriptedProvider
) -> None:
    scripted.hold = True
    ids = [f"r{i}" for i in range(6)]
    upload = sdk.files.create(file=("c.jsonl", jsonl([line(i) for i in ids])), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    wait_for(sdk, batch.id, {"in_progress"})
    cancelling = sdk.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    assert cancelling.cancelling_at is not None
    done = wait_for(sdk, batch.id, {"cancelled"})
    assert scripted.cancels == [batch.id]
    output = sdk.files.content(done.output_file_id or "").text.splitlines()
    errors = [json.loads(x) for x in sdk.files.content(done.error_file_id or "").text.splitlines()]
    assert len(output) == 3
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    seen = sorted([json.loads(x)["custom_id"] for x in output] + [e["custom_id"] for e in errors])
    assert seen == sorted(ids)
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (3, 3)
    with pytest.raises(openai.BadRequestError):
        sdk.batches.cancel(batch.id)


def test_create_parameter_errors(sdk: openai.OpenAI, beta_key_sdk: openai.OpenAI) -> None:
    upload = sdk.files.create(file=("x.jsonl", jsonl([line("a")])), purpose="batch")
    user_file = sdk.files.create(file=("x.txt", b"hi"), purpose="user_data")
    with pytest.raises(openai.NotFoundError):
        sdk.batches.create(input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        beta_key_sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    bad_calls = [
        {"input_file_id": user_file.id, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        {"input_file_id": upload.id, "endpoint": "/v1/images/generations", "completion_window": "24h"},
        {"input_file_id": upload.id, "endpoint": "/v1/chat/completions", "completion_window": "48h"},
        {
            "input_file_id": upload.id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {f"k{i}": "v" for i in range(17)},
        },
        {
            "input_file_id": upload.id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "output_expires_after": {"anchor": "created_at", "seconds": 10},
        },
    ]
    for call in bad_calls:
        with pytest.raises(openai.BadRequestError):
            sdk.batches.create(**call)  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve("batch_unknown")


def test_list_is_newest_first_and_paginates_to_the_end(sdk: openai.OpenAI, served: GatewayServer) -> None:
    upload = sdk.files.create(file=("x.jsonl", jsonl([line("a")])), purpose="batch")
    created = [
        sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h").id
        for _ in range(5)
    ]
    listed = [batch.id for batch in sdk.batches.list(limit=2)]
    assert listed == list(reversed(created))
    page = httpx.get(
        f"{served.base_url}/batches", params={"limit": 5}, headers={"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    ).json()
    assert_matches("ListBatchesResponse", page)
    assert page["has_more"] is False


def test_provider_side_cancel_ends_cancelled_with_every_line(sdk: openai.OpenAI, scripted: ScriptedProvider) -> None:
    """An upstream may cancel a batch nobody asked to cancel; the batch must still reach `cancelled`."""
    scripted.finish_as = "cancelled"
    upload = sdk.files.create(file=("c.jsonl", jsonl([line("a"), line("b")])), purpose="batch")
    batch = sdk.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    done = wait_for(sdk, batch.id, {"cancelled", "completed", "failed", "expired"})
    assert done.status == "cancelled"
    assert done.cancelling_at is not None
    assert done.request_counts is not None
    assert done.request_counts.total == 2
