"""Hypothesis strategies for `POST /v1/files` bodies: multipart built part by part, then perhaps damaged.

A body is drawn as (headers, body bytes, streamed?). Parts are mostly the fields the gateway knows
(`purpose`, `file`, `expires_after[...]`) with values that are right, wrong or huge, plus unknown parts;
headers vary (quoting, RFC 2231 names, odd content types, header floods); the framing varies (CRLF or LF,
preamble, epilogue, missing close); and the finished body may be truncated or have bytes flipped. The
content type's boundary may differ from the body's, be empty, quoted, too long or hold forbidden bytes.
"""

from __future__ import annotations

import msgspec
from hypothesis import strategies as st

__all__ = ["MultipartCase", "multipart_cases"]

_BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "
_VALID_LINE = msgspec.json.encode(
    {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": []}}
)

BOUNDARIES = st.text(alphabet=_BCHARS, min_size=1, max_size=70).filter(lambda b: not b.endswith(" ")) | st.sampled_from(
    ["", "a" * 71, "a" * 300, "é", '"', "a;b", "a\tb", "--", "\x7f", "\u2028"]
)
NAMES = st.sampled_from(["purpose", "file", "expires_after[anchor]", "expires_after[seconds]"]) | st.sampled_from(
    ["", "purpose ", "FILE", "model", "é", 'a"b', "a\\", "x" * 300]
)
FILENAMES = st.none() | st.sampled_from(["in.jsonl", "upload", "x.txt", "", "é.jsonl", 'a"b.jsonl', "../../etc/passwd"])
HUGE = st.integers(1, 6).map(lambda n: b"A" * (10**n))  # 10 B .. 1 MB: field limits and the file path
FIELD_VALUES = (
    st.sampled_from([b"batch", b"assistants", b"fine-tune", b"user_data", b"vision", b"evals", b"created_at"])
    | st.sampled_from([b"3600", b"2592000", b"0", b"-1", b"1e9", b"99999999999999999999", b"\xff\xfe", b""])
    | st.binary(max_size=40)
    | HUGE
)
FILE_VALUES = st.sampled_from([b"", _VALID_LINE + b"\n", (_VALID_LINE + b"\n") * 50]) | st.binary(max_size=200) | HUGE
EXTRA_HEADERS = st.lists(
    st.sampled_from(
        [
            b"Content-Type: application/jsonl",
            b"Content-Type: text/plain; charset=latin-1",
            b"X-Junk: " + b"j" * 5000,
            b"no colon here",
            b"Content-Transfer-Encoding: base64",
            b": empty name",
            b"Content-Disposition: form-data; name=other",
        ]
    ),
    max_size=3,
) | st.just([b"X-Flood: 1"] * 12)


class MultipartCase(msgspec.Struct, frozen=True):
    content_type: str
    body: bytes
    chunked: bool  # send with Transfer-Encoding: chunked (no Content-Length)


def _disposition(name: str, filename: str | None, style: int) -> bytes:
    if style == 1:  # unquoted, as some clients send it
        head = f"form-data; name={name}"
    elif style == 2:  # RFC 2231 / 5987 extended filename
        head = f"form-data; name=\"{name}\"; filename*=UTF-8''{filename or 'x'}"
    else:
        head = f'form-data; name="{name}"'
    if filename is not None and style != 2:
        head += f'; filename="{filename}"'
    return b"Content-Disposition: " + head.encode("utf-8", "surrogatepass")


@st.composite
def _part(draw: st.DrawFn, boundary: bytes, eol: bytes) -> bytes:
    name = draw(NAMES)
    is_file = name == "file"
    filename = draw(FILENAMES) if is_file or draw(st.integers(0, 9)) == 0 else None
    headers = [_disposition(name, filename, draw(st.integers(0, 3))), *draw(EXTRA_HEADERS)]
    if draw(st.integers(0, 19)) == 0:
        headers = draw(EXTRA_HEADERS)  # a part with no Content-Disposition at all
    value = draw(FILE_VALUES if is_file else FIELD_VALUES)
    if draw(st.integers(0, 9)) == 0:
        value += eol + b"--" + boundary  # the delimiter (almost) inside the value
    return b"--" + boundary + eol + eol.join(headers) + eol + eol + value + eol


@st.composite
def multipart_cases(draw: st.DrawFn) -> MultipartCase:
    boundary = draw(BOUNDARIES)
    raw_boundary = boundary.encode("utf-8")
    eol = draw(st.sampled_from([b"\r\n", b"\r\n", b"\n"]))
    if draw(st.booleans()):  # the usual shape first: purpose, then the file
        parts = [draw(_fixed("purpose", raw_boundary, eol)), draw(_fixed("file", raw_boundary, eol))]
    else:
        parts = []
    parts += draw(st.lists(_part(raw_boundary, eol), max_size=10))
    body = draw(st.sampled_from([b"", b"preamble" + eol])) + b"".join(parts)
    body += draw(st.sampled_from([b"--" + raw_boundary + b"--" + eol, b"--" + raw_boundary + b"--", b"", b"epilogue"]))
    body = _damage(draw, body)
    return MultipartCase(_content_type(draw, boundary), body, draw(st.integers(0, 4)) == 0)


@st.composite
def _fixed(draw: st.DrawFn, name: str, boundary: bytes, eol: bytes) -> bytes:
    if name == "purpose":
        disposition, value = b'Content-Disposition: form-data; name="purpose"', draw(FIELD_VALUES)
    else:
        filename = draw(FILENAMES) or "in.jsonl"
        disposition = _disposition("file", filename, 0)
        value = draw(FILE_VALUES)
    return b"--" + boundary + eol + disposition + eol + eol + value + eol


def _damage(draw: st.DrawFn, body: bytes) -> bytes:
    kind = draw(st.sampled_from(["none", "none", "none", "truncate", "flip", "insert"]))
    if kind == "none" or not body:
        return body
    at = draw(st.integers(0, len(body) - 1))
    if kind == "truncate":
        return body[:at]
    if kind == "flip":
        return body[:at] + bytes([body[at] ^ (1 << draw(st.integers(0, 7)))]) + body[at + 1 :]
    return body[:at] + draw(st.sampled_from([b"\r\n", b"--", b"\x00", b'"', b"\r\n\r\n"])) + body[at:]


def _content_type(draw: st.DrawFn, boundary: str) -> str:
    style = draw(st.integers(0, 9))
    if style == 0:
        return "multipart/form-data"
    if style == 1:
        return f'multipart/form-data; boundary="{boundary}"'
    if style == 2:
        return f"multipart/mixed; boundary={boundary}"
    if style == 3:
        return f"multipart/form-data; boundary={boundary}x"  # not the body's
    if style == 4:
        return f"Multipart/Form-Data; charset=utf-8; boundary={boundary}"
    return f"multipart/form-data; boundary={boundary}"
