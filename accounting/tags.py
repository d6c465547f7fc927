"""Cost allocation tags: the operator's declared keys, their values taken from each batch's `metadata`.

A tag value is 1 to 64 characters of `A-Z a-z 0-9 _ . : / @ + -` (no spaces, no braces: values appear
in Redis keys, Prometheus labels and CSV cells as they are). A declared key missing from the metadata,
or set to the empty string, is `untagged`. An invalid value is refused when the batch is created (400),
so a settled record only ever carries valid values; `resolve_tags` still folds an invalid value to
`untagged` for batches created before a key was declared.

Keys are Prometheus label names in lower case (`^[a-z][a-z0-9_]{0,31}$`) and may not shadow a ledger
field or an existing metric label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

import msgspec

__all__ = [
    "DEFAULT_LABEL_CAP",
    "METRIC_LABELS",
    "OTHER",
    "TAG_KEY_PATTERN",
    "TAG_VALUE_PATTERN",
    "UNTAGGED",
    "InvalidTagError",
    "TagBudget",
    "check_tags",
    "resolve_tags",
    "tag_field",
]

UNTAGGED = "untagged"
OTHER = "other"  # the metric label of values past the cardinality cap
DEFAULT_LABEL_CAP = 50  # values per tag key with a metric label of their own (accounting.tag_labels)
TAG_KEY_PATTERN = "^[a-z][a-z0-9_]{0,31}$"
TAG_VALUE_PATTERN = "^[A-Za-z0-9_.:/@+-]{1,64}$"
_VALUE = re.compile(TAG_VALUE_PATTERN)
# Every metric label name (accounting.metrics) and Prometheus' own: a tag key equal to one would be ambiguous.
# Record and summary fields are reserved too (`accounting.records.RESERVED_TAG_KEYS`).
METRIC_LABELS = frozenset(
    {
        "tenant",
        "provider",
        "model",
        "status",
        "kind",
        "outcome",
        "route",
        "method",
        "key",
        "value",
        "le",
        "quantile",
        "instance",
        "job",
    }
)


class TagBudget(msgspec.Struct, frozen=True, kw_only=True):
    """A monthly budget in USD for the batches whose tag `key` has `value` (held by accounting.tag_budgets)."""

    key: str
    value: str
    monthly_usd: Decimal

    @property
    def field(self) -> str:
        return tag_field(self.key, self.value)


class InvalidTagError(ValueError):
    """A batch's metadata holds an invalid value for a declared tag key; the message says which and why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _valid(value: str) -> bool:
    return _VALUE.fullmatch(value) is not None


def check_tags(metadata: Mapping[str, str] | None, keys: Sequence[str]) -> None:
    """Raise `InvalidTagError` when a declared key's value in `metadata` is set but invalid."""
    for key in keys:
        value = (metadata or {}).get(key, "")
        if value and not _valid(value):
            shown = value if len(value) <= 80 else value[:77] + "..."
            message = (
                f"Invalid metadata[{key!r}] = {shown!r}: {key!r} is a cost allocation tag, whose values are 1 to 64 "
                "characters of letters, digits and _ . : / @ + - (no spaces)."
            )
            raise InvalidTagError(key, message)


def resolve_tags(metadata: Mapping[str, str] | None, keys: Sequence[str]) -> dict[str, str]:
    """Each declared key → its value in `metadata`, or `untagged` when missing, empty or invalid."""
    found = metadata or {}
    resolved = {}
    for key in keys:
        value = found.get(key, "")
        resolved[key] = value if value and _valid(value) else UNTAGGED
    return resolved


def tag_field(key: str, value: str) -> str:
    """`key=value`: how one tag value is named in Redis fields and keys (both parts are validated)."""
    return f"{key}={value}"
