"""`EndpointSpec`: what batchgate knows of one batch endpoint, as data; the specs are in `endpoints.py`.

Validation reads its line types and measure, accounting its usage view, the native executor its token
estimate, and provider settings the kinds that serve it by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec

from gateway.validation.problems import Problem
from gateway.validation.usage import ChatUsage, UsageView

__all__ = ["Bulk", "EndpointSpec", "Measured"]

_encode = msgspec.json.encode

# (problems, embedding inputs, UTF-8 bytes of text, token ids, max output tokens) for one line's body.
Measured = tuple[tuple[Problem, ...], int, int, int, int]


class Bulk(NamedTuple):
    decoder_for: Callable[[str], msgspec.json.Decoder[Any]]  # `whole_line`, pinned to the file's model
    output_tokens: Callable[[list[Any]], int]  # of a list of decoded lines


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointSpec:
    url: str
    line: msgspec.json.Decoder[Any]  # the fast path: one typed decode of a whole line
    body_type: type[msgspec.Struct]  # the precise path decodes what a body may be, field by field
    measure: Callable[[Any], Measured]
    prompt_fields: tuple[str, ...]  # body fields whose JSON the executor's token estimate counts
    default_for: frozenset[str]  # provider kinds whose default `endpoints` list includes it
    default_max_output_tokens: int = 0  # per line (and per choice) when the body sets no limit; 0: no output
    output_limit_fields: tuple[str, ...] = ()  # body fields that cap the output, first set wins
    usage: type[UsageView] = ChatUsage  # how accounting reads `usage` from a response body
    # Optional: a decoder that reads every byte of the lines it accepts (no unknown fields, no Raw), so
    # its success proves a run valid UTF-8 and the splitter may skip that check (see `lines.StrictChatLine`).
    whole_line: msgspec.json.Decoder[Any] | None = None
    # Optional, with `whole_line`: the bulk path (`bulk.py`), in variants tried fastest first.
    bulk: tuple[Bulk, ...] = ()
    # Optional: the bulk path for runs the splitter has checked as UTF-8 (unknown fields skipped).
    checked_bulk: tuple[Bulk, ...] = ()
    # The estimate's text bytes are each request line's own bytes (chat; see `report.ValidationReport`).
    text_is_line: bool = False

    def estimate_tokens(self, body: Mapping[str, object]) -> int:
        """A line's token estimate for TPM limits: the JSON of its prompt fields / 4 (a slight overestimate)
        plus the output cap it sets (none set: 0, as the upstream bills what it writes, not a planning figure)."""
        prompt = sum(len(_encode(body[field])) for field in self.prompt_fields if field in body)
        limit: object = 0
        for field in self.output_limit_fields:
            if (limit := body.get(field)) is not None:
                break
        return prompt // 4 + (limit if isinstance(limit, int) else 0)
