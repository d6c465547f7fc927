"""`/v1/responses` lines: the fields validation checks, and the checks a type cannot say.

`input` is a string or a list of input items: messages (`role` + `content`) or typed items
(`function_call_output`, `item_reference`, ...), whose other fields pass through unchecked, as do
`tools` and every field not declared here. `stream` and `background` must be false or absent: a batch
request neither streams nor runs in the background.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from gateway.validation.lines import CustomId, ModelName, NoStream, PositiveInt, Probability, Temperature
from gateway.validation.problems import Problem, missing

__all__ = ["ResponsesBody", "ResponsesLine", "measure_responses"]

Role = Literal["user", "assistant", "system", "developer"]
NoBackground = Literal[False] | None


class ContentPart(msgspec.Struct, gc=False):
    """One part of a message's content (`input_text`, `input_image`, `input_file`, `output_text`, ...)."""

    type: str
    text: str | UnsetType = UNSET


class InputItem(msgspec.Struct, kw_only=True, gc=False):
    """A message (`role`, `content`; `type` "message" or absent) or another typed item."""

    type: str | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    content: str | list[ContentPart] | UnsetType = UNSET


class ResponsesBody(msgspec.Struct, kw_only=True, gc=False):
    model: ModelName
    input: str | list[InputItem]
    instructions: str | None = None
    max_output_tokens: PositiveInt | None = None
    stream: NoStream = None
    background: NoBackground = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None


class ResponsesLine(msgspec.Struct, gc=False):
    custom_id: CustomId
    method: Literal["POST"]
    url: Literal["/v1/responses"]
    body: ResponsesBody


def measure_responses(
    body: ResponsesBody, default_max_output_tokens: int
) -> tuple[tuple[Problem, ...], int, int, int, int]:
    """The item checks, and the line's output budget (`max_output_tokens`, else the planning figure).
    Its input estimate is the line's own bytes (`EndpointSpec.text_is_line`)."""
    problems = () if isinstance(body.input, str) else tuple(_item_problems(body.input))
    return problems, 0, 0, 0, body.max_output_tokens or default_max_output_tokens


def _item_problems(items: list[InputItem]) -> list[Problem]:
    problems: list[Problem] = []
    for index, item in enumerate(items):
        param = f"body.input[{index}]"
        is_message = item.type is UNSET or item.type == "message"
        if is_message and item.role is UNSET:
            problems.append(missing(f"{param}.role"))  # no `type`: a message, as OpenAI reads it
        elif is_message and item.content is UNSET:
            problems.append(missing(f"{param}.content"))
    return problems
