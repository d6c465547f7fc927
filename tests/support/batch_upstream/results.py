"""Deterministic fake result lines for one input line, in the flavour's usage style."""

from __future__ import annotations

from typing import Any

import msgspec

from tests.support.batch_upstream.options import SimOptions
from tests.support.batch_upstream.wire import fake_usage

__all__ = ["error_line", "never_ran_line", "ok_line"]

_encoder = msgspec.json.Encoder()


class _Body(msgspec.Struct):
    model: str = ""


_body_decoder = msgspec.json.Decoder(_Body)


def _usage(custom_id: str, body: bytes, endpoint: str, options: SimOptions) -> dict[str, Any]:
    prompt, cached, completion = fake_usage(custom_id, body)
    if endpoint == "/v1/embeddings":
        return {"prompt_tokens": prompt, "total_tokens": prompt}
    if endpoint == "/v1/responses":  # the Responses API's names, whatever the flavour
        return {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if options.usage_style == "deepseek":
        usage |= {"prompt_cache_hit_tokens": cached, "prompt_cache_miss_tokens": prompt - cached}
    else:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return usage


def _response_body(custom_id: str, body: bytes, endpoint: str, options: SimOptions) -> dict[str, Any]:
    model = _body_decoder.decode(body).model
    usage = _usage(custom_id, body, endpoint, options)
    if endpoint == "/v1/embeddings":
        return {
            "object": "list",
            "model": model,
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
            "usage": usage,
        }
    content = f"echo {custom_id}" + "x" * options.completion_pad
    if endpoint == "/v1/responses":
        message = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": content}]}
        return {"id": f"resp_{custom_id}", "object": "response", "created_at": 0, "status": "completed",
                "model": model, "output": [message], "usage": usage}  # fmt: skip
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if endpoint == "/v1/completions":
        choice = {"index": 0, "text": content, "finish_reason": "stop"}
    return {
        "id": f"cmpl-{custom_id}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def ok_line(custom_id: str, body: bytes, endpoint: str, options: SimOptions) -> bytes:
    response = {
        "status_code": 200,
        "request_id": f"req_{custom_id}",
        "body": _response_body(custom_id, body, endpoint, options),
    }
    return _encoder.encode(
        {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": None}
    )


def error_line(custom_id: str) -> bytes:
    error = {"message": "Invalid request (simulated).", "type": "invalid_request_error", "param": None, "code": None}
    response = {"status_code": 400, "request_id": f"req_{custom_id}", "body": {"error": error}}
    return _encoder.encode(
        {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": None}
    )


def never_ran_line(custom_id: str, code: str) -> bytes:
    error = {"code": code, "message": "This request could not be executed before the completion window expired."}
    return _encoder.encode({"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": None, "error": error})
