"""The batch endpoints batchgate serves, as data: one `EndpointSpec` each.

A spec says which provider kinds can serve the endpoint (and which serve it unless their `endpoints`
list says otherwise), the output budget of a line that sets no limit, which body fields the token
estimate reads, and which usage shape its responses report (`accounting.usage` reads it by that name).
The line rules validation applies live beside it in `gateway.validation.endpoints`, keyed by the same
URL. This module imports only msgspec, so every layer (and the user's CLI) reads it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import msgspec

__all__ = [
    "ALL_ENDPOINTS",
    "ENDPOINTS",
    "OPENAI_BATCH_ENDPOINTS",
    "EndpointSpec",
    "ProviderKind",
    "UsageShape",
    "default_endpoints",
    "estimate_tokens",
]

ProviderKind = Literal["openai_batch", "native"]
# How a response body reports usage: chat names (`prompt_tokens`, `completion_tokens`, ...) or the
# Responses API's (`input_tokens`, `output_tokens`, ...).
UsageShape = Literal["chat", "responses"]

# Every endpoint OpenAI's Batch API accepts (the SDK's `batches.create(endpoint=...)` literal); those
# without a spec below (images, videos) are known, but no route of batchgate serves them.
OPENAI_BATCH_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)

# A line's output budget when it sets no limit: our planning figure (models differ; most cap a reply
# well below it). Completions: OpenAI's documented default `max_tokens` of 16.
PLANNING_MAX_OUTPUT_TOKENS = 4096
COMPLETIONS_DEFAULT_MAX_TOKENS = 16

_encode = msgspec.json.encode
_BOTH: frozenset[ProviderKind] = frozenset({"openai_batch", "native"})
_NATIVE: frozenset[ProviderKind] = frozenset({"native"})


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    url: str
    served_by: frozenset[ProviderKind]  # provider kinds that can serve it when their `endpoints` list it
    default_for: frozenset[ProviderKind]  # kinds whose default `endpoints` list includes it
    default_max_output_tokens: int  # per line (and per choice) when the body sets no limit; 0: no output
    prompt_fields: tuple[str, ...]  # body fields whose JSON the token estimate counts
    output_limit_fields: tuple[str, ...]  # body fields that cap the output, first set wins
    usage: UsageShape = "chat"


ENDPOINTS: Mapping[str, EndpointSpec] = {
    spec.url: spec
    for spec in (
        EndpointSpec(
            "/v1/chat/completions",
            _BOTH,
            _BOTH,
            PLANNING_MAX_OUTPUT_TOKENS,
            ("messages",),
            ("max_completion_tokens", "max_tokens"),
        ),
        EndpointSpec(
            "/v1/completions", _BOTH, _BOTH, COMPLETIONS_DEFAULT_MAX_TOKENS, ("prompt", "suffix"), ("max_tokens",)
        ),
        EndpointSpec("/v1/embeddings", _BOTH, _BOTH, 0, ("input",), ()),
        # OpenAI's Batch API takes both; an `openai_batch` upstream serves them only when its list says so.
        EndpointSpec(
            "/v1/responses",
            _BOTH,
            _NATIVE,
            PLANNING_MAX_OUTPUT_TOKENS,
            ("input", "instructions", "tools"),
            ("max_output_tokens",),
            usage="responses",
        ),
        EndpointSpec("/v1/moderations", _BOTH, _NATIVE, 0, ("input",), ()),
    )
}

ALL_ENDPOINTS: tuple[str, ...] = tuple(ENDPOINTS)


def default_endpoints(kind: ProviderKind) -> list[str]:
    """What a provider of `kind` serves when its `endpoints` list is not given."""
    return [url for url, spec in ENDPOINTS.items() if kind in spec.default_for]


def estimate_tokens(spec: EndpointSpec, body: Mapping[str, object]) -> int:
    """A line's token estimate for TPM limits: the JSON of its prompt fields / 4 (a slight overestimate)
    plus the output cap it sets (none set: 0, as the upstream bills what it writes, not a planning figure)."""
    prompt = sum(len(_encode(body[field])) for field in spec.prompt_fields if field in body)
    limit: object = 0
    for field in spec.output_limit_fields:
        if (limit := body.get(field)) is not None:
            break
    return prompt // 4 + (limit if isinstance(limit, int) else 0)
