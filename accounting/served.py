"""Served tokens: a batch's token counts kept apart by the price multiplier in effect when they were served.

With time-of-day prices (`accounting/price_windows.py`) the same token costs more at peak, so usage is
recorded per multiplier ("bucket"): the native executor puts each line in the bucket of the moment the
upstream answered it, an upstream batch goes whole into the bucket of its completion time. Without windows
there is one bucket, multiplier 1. `accounting/cost.py` prices the buckets (`price_served`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from accounting.usage import UsageTotals

__all__ = ["ServedTokens", "TokenCounts", "bucket_key", "served_at"]


class TokenCounts(msgspec.Struct, frozen=True, kw_only=True):
    """One bucket's tokens; `input_tokens` counts every prompt token, `cached_input_tokens` the cached part."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    @classmethod
    def of(cls, usage: UsageTotals) -> TokenCounts:
        return cls(
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
        )


class ServedTokens(msgspec.Struct, frozen=True):
    """Multiplier (a decimal string, as stored: "1", "2", "0.5") → the tokens served at it."""

    buckets: dict[str, TokenCounts] = msgspec.field(default_factory=dict)

    def items(self) -> Iterable[tuple[Decimal, TokenCounts]]:
        return ((Decimal(multiplier), counts) for multiplier, counts in sorted(self.buckets.items()))

    def total(self) -> TokenCounts:
        return sum((counts for counts in self.buckets.values()), TokenCounts())

    def __add__(self, other: ServedTokens) -> ServedTokens:
        merged = dict(self.buckets)
        for multiplier, counts in other.buckets.items():
            merged[multiplier] = merged.get(multiplier, TokenCounts()) + counts
        return ServedTokens(merged)

    @classmethod
    def from_fields(cls, fields: Mapping[str, int]) -> ServedTokens:
        """From flat `<multiplier>:<kind>` counters (the native executor's Redis hash fields, prefix removed)."""
        buckets: dict[str, dict[str, int]] = {}
        for name, count in fields.items():
            multiplier, _, kind = name.rpartition(":")
            buckets.setdefault(multiplier, {})[kind] = buckets.get(multiplier, {}).get(kind, 0) + int(count)
        return cls({key: _counts(kinds) for key, kinds in buckets.items()})


_KINDS = {"in": "input_tokens", "cached": "cached_input_tokens", "out": "output_tokens", "reason": "reasoning_tokens"}


def _counts(kinds: Mapping[str, int]) -> TokenCounts:
    return TokenCounts(**{_KINDS[kind]: count for kind, count in kinds.items() if kind in _KINDS})


def served_at(usage: UsageTotals, multiplier: Decimal) -> ServedTokens:
    """All of `usage` in one bucket: an upstream batch priced at its completion time, or no windows at all."""
    return ServedTokens({bucket_key(multiplier): TokenCounts.of(usage)})


def bucket_key(multiplier: Decimal) -> str:
    """The bucket name of `multiplier`."""
    # One spelling per amount ("2", not "2.0"), so the same multiplier is always the same bucket.
    normalized = multiplier.normalize()
    return format(normalized, "f")
