"""Hostile requests for every route that takes a body or parameters: nesting bombs, huge numbers, lone
surrogates and duplicate keys, in JSON bodies, query parameters, path ids and multipart fields.

`hostile_requests(rng)` yields `Attack`s forever from a seeded `random.Random`, so a run is reproducible from
its seed. Each attack names its route template, so a report can count answers per route.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import NamedTuple
from urllib.parse import quote

__all__ = ["Attack", "bomb", "hostile_file", "hostile_requests", "hostile_value"]

GOOD_CREATE = {
    "input_file_id": '"file-0000000000000000000000000"',
    "endpoint": '"/v1/chat/completions"',
    "completion_window": '"24h"',
}


class Attack(NamedTuple):
    route: str  # the template, for the report
    method: str
    path: str  # already percent-encoded where needed
    body: bytes | None
    content_type: str | None


def bomb(rng: random.Random) -> bytes:
    """A JSON value nested far past any decoder's recursion limit (or just under it), arrays or objects."""
    depth = rng.choice([900, 1_100, 5_000, 20_000, 30_000])
    if rng.random() < 0.5:
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def huge_number(rng: random.Random) -> bytes:
    digits = b"9" * rng.choice([20, 40, 400, 4_000])
    return rng.choice([digits, b"-" + digits, b"1e400", b"-1e400", b"1e-400", b"0." + digits, digits + b"e99999"])


def lone_surrogate(rng: random.Random) -> bytes:
    escape = rng.choice([rb"\ud800", rb"\udbff", rb"\udc00", rb"\udfff", rb"\ud800\u0041"])
    raw = rng.choice([b"\xed\xa0\x80", b"\xed\xbf\xbf"])  # surrogates encoded as UTF-8 bytes: invalid UTF-8
    return b'"x' + rng.choice([escape, raw]) + b'y"'


def hostile_value(rng: random.Random) -> bytes:
    kind: Callable[[random.Random], bytes] = rng.choice([bomb, huge_number, lone_surrogate])
    return kind(rng)


def _create_body(rng: random.Random) -> bytes:
    """A create body with one hostile value in a known field, an unknown field or the metadata, and maybe a
    repeated key; sometimes a bare hostile document."""
    if rng.random() < 0.1:
        return hostile_value(rng)
    fields = [(key.encode(), value.encode()) for key, value in GOOD_CREATE.items()]
    target = rng.choice(["input_file_id", "endpoint", "completion_window", "metadata", "extra", "expiry"])
    value = hostile_value(rng)
    if target == "metadata":
        fields.append((b"metadata", b'{"k":' + value + b"}"))
    elif target == "expiry":
        fields.append((b"output_expires_after", b'{"anchor":"created_at","seconds":' + value + b"}"))
    elif target == "extra":
        fields.append((b"extra_body_field", value))
    else:
        fields = [(key, value if key == target.encode() else old) for key, old in fields]
    if rng.random() < 0.3:  # a duplicate key, before or after the original
        key, old = rng.choice(fields)
        fields.insert(rng.randrange(len(fields) + 1), (key, rng.choice([old, value, b'"other"'])))
    return b"{" + b",".join(b'"' + key + b'":' + item for key, item in fields) + b"}"


def _param(rng: random.Random) -> str:
    """A query or path value: hostile JSON as text, encoded surrogates, invalid UTF-8 or huge numbers."""
    raw = rng.choice(
        [
            hostile_value(rng)[:3000],
            b"9" * rng.choice([19, 20, 400]),
            b"-1",
            b"1e400",
            b"NaN",
            b"Infinity",
            b"\xed\xa0\x80",
            b"\xff\xfe",
            b"0x10",
            b"",
        ]
    )
    return quote(raw, safe="")


def _query(rng: random.Random, names: list[str]) -> str:
    picked = rng.sample(names, rng.randint(1, len(names)))
    if rng.random() < 0.3:
        picked.append(rng.choice(picked))  # a repeated parameter
    return "&".join(f"{name}={_param(rng)}" for name in picked)


def _multipart(rng: random.Random) -> tuple[bytes, str]:
    """An upload whose fields or file carry hostile values (the file: one hostile JSONL line)."""
    fields = {"purpose": b"batch", "expires_after[anchor]": b"created_at", "expires_after[seconds]": b"3600"}
    target = rng.choice([*fields, "file"])
    if target != "file":
        fields[target] = hostile_value(rng)[:900]  # fields are capped at 1 KiB: try both sides of it
    parts = [
        b'--b\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in fields.items()
    ]
    line = b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":' + (
        hostile_value(rng) if target == "file" else b'[{"role":"user","content":"hi"}]'
    )
    parts.append(
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\n\r\n' + line + b"}}\n\r\n"
    )
    return b"".join(parts) + b"--b--\r\n", "multipart/form-data; boundary=b"


def hostile_file(rng: random.Random) -> bytes:
    """A batch input file whose first line carries a hostile value (create reads that line's model)."""
    head = b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","x":'
    return head + hostile_value(rng) + b',"messages":[{"role":"user","content":"hi"}]}}\n'


def hostile_requests(rng: random.Random, file_ids: list[str] = []) -> Iterator[Attack]:  # noqa: B006  # read only
    """Attacks forever; `file_ids` (uploaded `hostile_file`s) make some creates reach the file's first line."""
    batch = "batch_" + "0" * 26
    while True:
        pick = rng.randrange(12)
        if pick < 4 and file_ids and rng.random() < 0.1:
            body = GOOD_CREATE | {"input_file_id": f'"{rng.choice(file_ids)}"'}
            content = ("{" + ",".join(f'"{key}":{value}' for key, value in body.items()) + "}").encode()
            yield Attack("POST /v1/batches (hostile file)", "POST", "/v1/batches", content, "application/json")
        elif pick < 4:
            content_type = rng.choice(["application/json", "text/plain", None])
            yield Attack("POST /v1/batches", "POST", "/v1/batches", _create_body(rng), content_type)
        elif pick == 4:
            body, content_type = _multipart(rng)
            yield Attack("POST /v1/files", "POST", "/v1/files", body, content_type)
        elif pick == 5:
            target = rng.choice([batch, _param(rng)])
            yield Attack(
                "POST /v1/batches/{id}/cancel", "POST", f"/v1/batches/{target}/cancel", bomb(rng), "application/json"
            )
        elif pick == 6:
            query = _query(rng, ["after", "limit", "since", "until", "format"])
            yield Attack("GET /v1/accounting/batches", "GET", f"/v1/accounting/batches?{query}", None, None)
        elif pick == 7:
            query = _query(rng, ["group_by", "since", "until"])
            yield Attack("GET /v1/accounting/summary", "GET", f"/v1/accounting/summary?{query}", None, None)
        elif pick == 8:
            query = _query(rng, ["after", "limit", "purpose", "order"])
            yield Attack("GET /v1/files", "GET", f"/v1/files?{query}", None, None)
        elif pick == 9:
            yield Attack("GET /v1/batches", "GET", f"/v1/batches?{_query(rng, ['after', 'limit'])}", None, None)
        elif pick == 10:
            route, template = rng.choice(
                [
                    ("GET", "/v1/batches/{}"),
                    ("GET", "/v1/files/{}"),
                    ("GET", "/v1/files/{}/content"),
                    ("DELETE", "/v1/files/{}"),
                    ("GET", "/v1/accounting/batches/{}"),
                ]
            )
            yield Attack(f"{route} {template.format('{id}')}", route, template.format(_param(rng)), None, None)
        else:
            yield Attack(
                "GET /v1/batches/{id} (+ JSON body)", "GET", f"/v1/batches/{batch}", bomb(rng), "application/json"
            )
