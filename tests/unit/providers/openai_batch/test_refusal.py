"""The recogniser of "this route does not serve the batch": what moves a batch to the model's next route."""

from __future__ import annotations

import pytest

from providers.openai_batch.refusal import refuses_route


@pytest.mark.parametrize(
    ("status", "message", "batch_api_path"),
    [
        (404, "Not Found", True),  # DeepSeek's real-time API: no /v1/files, no /v1/batches
        (405, "Method Not Allowed", False),
        (501, "Not Implemented", False),
        (400, "Model Not Exist", False),  # DeepSeek
        (404, "The model `gpt-x` does not exist or you do not have access to it.", False),  # OpenAI
        (400, "The model gpt-4o-realtime is not supported with the Batch API.", False),  # OpenAI
        (404, "Invalid URL (POST /v1/batches)", False),  # OpenAI's answer for a path it lacks
        (400, "Model is not available", False),  # DeepInfra
        (422, "model not found: meta-llama/None", False),  # DeepInfra
        (400, "This endpoint is not supported for batch processing", False),
    ],
)
def test_refusals_that_the_next_route_may_serve(status: int, message: str, batch_api_path: bool) -> None:
    assert refuses_route(status, message, batch_api_path=batch_api_path)


@pytest.mark.parametrize(
    ("status", "message", "batch_api_path"),
    [
        (401, "Model Not Exist", True),  # a rejected key never falls back, whatever it says
        (403, "Not Found", True),
        (404, "No such File object: file-1", False),  # one missing object, not a missing API
        (400, "Invalid 'completion_window': must be 24h", True),
        (400, "Input file has 2 lines with invalid JSON", True),
        (429, "Rate limit", True),
        (500, "Model overloaded", True),
        (200, "", True),
    ],
)
def test_answers_that_are_not_a_refusal_of_the_route(status: int, message: str, batch_api_path: bool) -> None:
    assert not refuses_route(status, message, batch_api_path=batch_api_path)
