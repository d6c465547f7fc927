"""Bounded metric labels for tag values: at most `cap` distinct values per tag key get a label of their own.

The set of labelled values is kept in Redis, so every process labels the same values and a restart keeps
them: the first `cap` values settled (per key, across the deployment) keep their names, later ones are
counted under `other`. `untagged` and the values named in `[[accounting.tag_budgets]]` always keep their
names, beside the cap, so neither disappears into `other` (series per key ≤ cap + budgeted values + 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from accounting import keys, lua
from accounting.tags import DEFAULT_LABEL_CAP, UNTAGGED
from gateway.core.redis_types import RedisClient

__all__ = ["DEFAULT_LABEL_CAP", "TagLabels"]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class TagLabels:
    """Maps a record's tags to metric label values, admitting new values up to the cap per key."""

    def __init__(
        self, redis: RedisClient, cap: int = DEFAULT_LABEL_CAP, always: Iterable[tuple[str, str]] = ()
    ) -> None:
        self._redis = redis
        self._cap = cap
        self._always = frozenset(always)

    async def labels(self, tags: Mapping[str, str]) -> dict[str, str]:
        """Each tag key → its value when untagged, budgeted or admitted (now or before), else `other`."""
        labels = {key: value for key, value in tags.items() if value == UNTAGGED or (key, value) in self._always}
        names = sorted(key for key in tags if key not in labels)
        if names:
            script_keys = [keys.tag_label_values(name) for name in names]
            reply = await lua.ADMIT_LABELS(
                self._redis, keys=script_keys, args=[self._cap, *(tags[name] for name in names)]
            )
            labels |= {name: _text(label) for name, label in zip(names, reply, strict=True)}
        return labels
