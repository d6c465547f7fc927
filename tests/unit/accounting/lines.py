"""Result lines as upstreams write them (openai-batch-spec §3.2), for accounting tests."""

from __future__ import annotations

import msgspec

__all__ = ["deepseek_line", "embedding_line", "error_line", "expired_line", "openai_line"]


def _line(status: int, body: dict[str, object]) -> bytes:
    line = {
        "id": "batch_req_1",
        "custom_id": "c1",
        "response": {"status_code": status, "request_id": "r", "body": body},
    }
    return msgspec.json.encode(line | {"error": None})


def openai_line(prompt: int, completion: int, cached: int | None = None, reasoning: int | None = None) -> bytes:
    usage: dict[str, object] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    choices = [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
    return _line(200, {"id": "chatcmpl-1", "object": "chat.completion", "choices": choices, "usage": usage})


def deepseek_line(hit: int, miss: int, completion: int, *, with_prompt_tokens: bool = True) -> bytes:
    usage: dict[str, object] = {
        "completion_tokens": completion,
        "prompt_cache_hit_tokens": hit,
        "prompt_cache_miss_tokens": miss,
    }
    if with_prompt_tokens:
        usage["prompt_tokens"] = hit + miss
    return _line(200, {"id": "x", "object": "chat.completion", "choices": [], "usage": usage})


def embedding_line(prompt: int) -> bytes:
    data = [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}]
    return _line(200, {"object": "list", "data": data, "usage": {"prompt_tokens": prompt, "total_tokens": prompt}})


def error_line(status: int = 400, usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, object] = {
        "error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}
    }
    if usage is not None:
        body["usage"] = usage
    return _line(status, body)


def expired_line() -> bytes:
    error = {"code": "batch_expired", "message": "This request could not be executed before the window expired."}
    return msgspec.json.encode({"id": "batch_req_2", "custom_id": "c2", "response": None, "error": error})
