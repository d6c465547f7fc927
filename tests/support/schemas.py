"""The OpenAI wire JSON Schemas (vendored from the spec) as validators for our responses."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

_SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
_SCHEMA_FILES = ("openai-batch-schemas.json", "webhook-schemas.json")


@cache
def validator(name: str) -> Draft202012Validator:
    schemas = {}
    for file_name in _SCHEMA_FILES:
        schemas |= json.loads((_SCHEMA_DIR / file_name).read_text())["schemas"]
    return Draft202012Validator(schemas[name])


def assert_matches(name: str, instance: Any) -> None:
    """Raise jsonschema.ValidationError when `instance` is not a valid wire `name` (e.g. "Batch")."""
    validator(name).validate(instance)
