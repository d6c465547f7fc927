"""The provider kinds batchgate knows: adding a kind is its folder in `providers/` and one line in `KINDS`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from providers.kind import AnyKind
from providers.native.kind import NATIVE
from providers.openai_batch.kind import OPENAI_BATCH

__all__ = ["KINDS", "REGISTRY", "KindRegistry"]

KINDS: tuple[AnyKind, ...] = (
    OPENAI_BATCH,
    NATIVE,
)


class KindRegistry:
    """Kinds by name, and the settings union tagged on `kind` that decodes their config tables."""

    def __init__(self, kinds: Iterable[AnyKind]) -> None:
        self._kinds: dict[str, AnyKind] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"provider kind {kind.name!r} is registered twice")
            self._kinds[kind.name] = kind

    def __iter__(self) -> Iterator[AnyKind]:
        return iter(self._kinds.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    def get(self, name: str) -> AnyKind:
        kind = self._kinds.get(name)
        if kind is None:
            raise KeyError(f"no provider kind {name!r}; known kinds: {', '.join(self._kinds)}")
        return kind

    def with_kinds(self, *kinds: AnyKind) -> KindRegistry:
        """These kinds and more (a deployment's own, a test's)."""
        return KindRegistry([*self._kinds.values(), *kinds])

    @property
    def settings_union(self) -> Any:
        """`A | B | ...` of every kind's settings type: a msgspec union tagged on `kind`."""
        members: Any = None
        for kind in self._kinds.values():
            members = kind.settings if members is None else members | kind.settings
        return members


REGISTRY = KindRegistry(KINDS)
