"""Building input lines and files for validation tests."""

from __future__ import annotations

from typing import Any

import msgspec

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"
RESPONSES = "/v1/responses"
MODERATIONS = "/v1/moderations"


def body_for(endpoint: str, model: str = "m") -> dict[str, Any]:
    if endpoint == CHAT:
        return {"model": model, "messages": [{"role": "user", "content": "Hello world!"}], "max_tokens": 10}
    if endpoint == COMPLETIONS:
        return {"model": model, "prompt": "Say this is a test", "max_tokens": 7}
    if endpoint == RESPONSES:
        return {"model": model, "input": "Tell me a story", "max_output_tokens": 50}
    return {"model": model, "input": "The food was delicious"}


def request(endpoint: str = CHAT, custom_id: str = "r1", **body: Any) -> dict[str, Any]:
    merged = body_for(endpoint) | body
    return {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": merged}


def line(obj: object) -> bytes:
    return msgspec.json.encode(obj) + b"\n"


def jsonl(*objs: object) -> bytes:
    return b"".join(item if isinstance(item, bytes) else line(item) for item in objs)


def good_file(endpoint: str, count: int) -> bytes:
    return jsonl(*(request(endpoint, f"r{index}") for index in range(count)))
