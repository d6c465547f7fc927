"""The list page of OpenAI's API: `{"object": "list", "data", "first_id", "last_id", "has_more"}`.

Each list declares its page as a named subclass (`class FileList(Page[FileObject])`), so the OpenAPI
document keeps one schema component per list under its own name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Generic, Literal, Self, TypeVar

import msgspec

__all__ = ["Page"]

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """A page of a list; `first_id`/`last_id` are null on an empty page, `after=last_id` asks for the next."""

    object: Literal["list"] = "list"
    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def of(cls, items: Iterable[T], has_more: bool, id_of: Callable[[T], str] = attrgetter("id")) -> Self:
        """The page of `items`, its ids read by `id_of` (the items' `id` unless told otherwise)."""
        data = list(items)
        first, last = (id_of(data[0]), id_of(data[-1])) if data else (None, None)
        return cls(data=data, first_id=first, last_id=last, has_more=has_more)
