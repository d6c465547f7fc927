"""The precise path: for a line the one-shot typed decode rejected, name every problem on it.

The line is split into raw fields, and each field is decoded alone with the very type the fast path
uses, so both paths apply one set of rules; this one only runs for bad lines, so speed matters less.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import msgspec

from gateway.validation.errors import ErrorCode
from gateway.validation.lines import CustomId
from gateway.validation.problems import Problem, from_validation, missing
from gateway.validation.spec import EndpointSpec

__all__ = ["Diagnosis", "diagnose"]

_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_CUSTOM_ID = msgspec.json.Decoder(CustomId)
_ANY = msgspec.json.Decoder()
_FieldDecoders = tuple[tuple[str, bool, msgspec.json.Decoder[Any]], ...]


class Diagnosis(NamedTuple):
    problems: list[Problem]
    custom_id: str | None  # when valid: still checked for duplicates
    model: str | None  # when valid: still checked against the file's model
    body: msgspec.Struct | None  # when the whole body decoded: measured and checked like a good line


def diagnose(data: bytes | memoryview, spec: EndpointSpec) -> Diagnosis:
    try:
        return _diagnose(data, spec)
    except RecursionError:  # msgspec's decoder recurses once per level: a nesting bomb ends here, not in a crash
        message = "the line nests arrays or objects too deeply to decode"
        return Diagnosis([(ErrorCode.NESTING_TOO_DEEP, message, None)], None, None, None)


def _diagnose(data: bytes | memoryview, spec: EndpointSpec) -> Diagnosis:
    try:
        top = _OBJECT.decode(data)
    except msgspec.ValidationError:
        return _not_json("the line is valid JSON but not a JSON object")
    except msgspec.DecodeError as exc:
        return _not_json(f"the line is not parseable as valid JSON ({exc})")
    problems: list[Problem] = []
    custom_id = _decode(top, "custom_id", "custom_id", _CUSTOM_ID, problems)
    _check_literal(top, "method", "POST", ErrorCode.INVALID_METHOD, problems)
    _check_literal(top, "url", spec.url, ErrorCode.URL_MISMATCH, problems)
    model, body = _diagnose_body(top.get("body"), spec, problems)
    return Diagnosis(problems, custom_id, model, body)


def _diagnose_body(
    raw: msgspec.Raw | None, spec: EndpointSpec, problems: list[Problem]
) -> tuple[str | None, msgspec.Struct | None]:
    if raw is None:
        problems.append(missing("body"))
        return None, None
    try:
        fields = _OBJECT.decode(raw)
    except msgspec.ValidationError as exc:
        problems.append(from_validation("body", exc))
        return None, None
    before = len(problems)
    model = None
    for name, required, decoder in _field_decoders(spec.body_type):
        value = _decode(fields, name, f"body.{name}", decoder, problems, required=required)
        if name == "model":
            model = value
    if len(problems) > before:
        return model, None
    return model, msgspec.json.decode(raw, type=spec.body_type)


def _decode(
    fields: dict[str, msgspec.Raw],
    name: str,
    param: str,
    decoder: msgspec.json.Decoder[Any],
    problems: list[Problem],
    *,
    required: bool = True,
) -> Any:
    raw = fields.get(name)
    if raw is None:
        if required:
            problems.append(missing(param))
        return None
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        problems.append(from_validation(param, exc))
        return None


def _check_literal(
    fields: dict[str, msgspec.Raw], name: str, expected: str, code: ErrorCode, problems: list[Problem]
) -> None:
    raw = fields.get(name)
    if raw is None:
        problems.append(missing(name))
        return
    try:
        matches = _ANY.decode(raw) == expected
    except msgspec.ValidationError:  # valid JSON that no Python value holds, such as -1e4001
        matches = False
    if not matches:
        shown = bytes(raw).decode("utf-8", "replace")[:80]
        problems.append((code, f"`{name}` is {shown}; expected {msgspec.json.encode(expected).decode()}", name))


def _not_json(message: str) -> Diagnosis:
    return Diagnosis([(ErrorCode.INVALID_JSON_LINE, message, None)], None, None, None)


@functools.cache
def _field_decoders(body_type: type[msgspec.Struct]) -> _FieldDecoders:
    """One decoder per declared body field, built once per endpoint on the first bad line."""
    return tuple(
        (field.encode_name, field.required, msgspec.json.Decoder(field.type))
        for field in msgspec.structs.fields(body_type)
    )
