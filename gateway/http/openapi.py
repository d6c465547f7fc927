"""OpenAPI declarations the handlers cannot infer: bodies they read themselves, and the error envelope.

`POST /v1/files` streams its multipart body and `POST /v1/batches` decodes its JSON itself (both to bound
memory and to name parameters in errors), so Litestar sees no `data` parameter; these Operation classes put
the request bodies the handlers really accept into `/schema/openapi.json`. Every error any route answers
is OpenAI's envelope, documented here in place of Litestar's own validation-error shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityScheme,
)

from gateway.core.errors import ErrorEnvelope
from gateway.files.records import UPLOAD_PURPOSES
from gateway.validation.endpoints import ALL_ENDPOINTS

__all__ = [
    "BEARER_COMPONENTS",
    "BEARER_SECURITY",
    "CreateBatchOperation",
    "CsvOperation",
    "CsvOrJsonOperation",
    "UploadOperation",
    "accounting_page_responses",
    "error_responses",
]

BEARER_COMPONENTS = Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")})
BEARER_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]

_ERRORS = {
    400: "Invalid request",
    401: "Missing or incorrect API key",
    404: "Unknown id or URL",
    413: "Body or file too large",
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """The envelope for each status; 400 and 401 always (every route validates and authenticates)."""
    wanted = sorted({400, 401, *codes})
    return {code: ResponseSpec(ErrorEnvelope, description=_ERRORS[code], generate_examples=False) for code in wanted}


def accounting_page_responses(page: type) -> dict[int, ResponseSpec]:
    """The accounting list answers its JSON page, or CSV with `format=csv` (documented in the description)."""
    page_spec = ResponseSpec(
        page, description="A page of records as JSON; CSV with format=csv", generate_examples=False
    )
    return {200: page_spec, **error_responses()}


def _string(**extra: object) -> Schema:
    return Schema(type=OpenAPIType.STRING, **extra)  # type: ignore[arg-type]


_UPLOAD = Schema(
    type=OpenAPIType.OBJECT,
    required=["file", "purpose"],
    properties={
        "file": _string(format="binary"),
        "purpose": _string(enum=sorted(UPLOAD_PURPOSES)),
        "expires_after[anchor]": _string(enum=["created_at"]),
        "expires_after[seconds]": Schema(type=OpenAPIType.INTEGER, minimum=3600, maximum=2_592_000),
    },
)
_CREATE_BATCH = Schema(
    type=OpenAPIType.OBJECT,
    required=["input_file_id", "endpoint", "completion_window"],
    properties={
        "input_file_id": _string(),
        "endpoint": _string(enum=list(ALL_ENDPOINTS)),
        "completion_window": _string(enum=["24h"]),
        "metadata": Schema(
            one_of=[
                Schema(type=OpenAPIType.OBJECT, additional_properties=_string(max_length=512), max_properties=16),
                Schema(type=OpenAPIType.NULL),
            ]
        ),
        "output_expires_after": Schema(
            type=OpenAPIType.OBJECT,
            required=["anchor", "seconds"],
            properties={
                "anchor": _string(enum=["created_at"]),
                "seconds": Schema(type=OpenAPIType.INTEGER, minimum=3600, maximum=2_592_000),
            },
        ),
    },
)


@dataclass
class CsvOrJsonOperation(Operation):
    """The 200 answer is JSON, or CSV text with `format=csv`: both media types are documented."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content["text/csv"] = OpenAPIMediaType(schema=_string())


@dataclass
class CsvOperation(Operation):
    """The 200 answer is CSV text only (a streamed download)."""

    def __post_init__(self) -> None:
        csv_text = {"text/csv": OpenAPIMediaType(schema=_string())}
        self.responses = {**(self.responses or {}), "200": OpenAPIResponse(description="CSV text", content=csv_text)}


@dataclass
class UploadOperation(Operation):
    def __post_init__(self) -> None:
        content = {"multipart/form-data": OpenAPIMediaType(schema=_UPLOAD)}
        self.request_body = RequestBody(content=content, required=True)


@dataclass
class CreateBatchOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=_CREATE_BATCH)}, required=True
        )
