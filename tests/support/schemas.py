"""The OpenAI wire JSON Schemas (vendored from the spec, plus every other file in tests/schemas) as
validators for our responses."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

_SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


@cache
def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for path in sorted(_SCHEMA_DIR.glob("*.json")):
        schemas |= json.loads(path.read_text())["schemas"]
    return schemas


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_schemas()[name])


def assert_matches(name: str, instance: Any) -> None:
    """Raise jsonschema.ValidationError when `instance` is not a valid wire `name` (e.g. "Batch")."""
    validator(name).validate(instance)
