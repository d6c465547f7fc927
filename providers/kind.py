"""A provider kind as a plug-in: its name, its settings type and its one `build`.

Each kind's folder (`providers/<kind>/`) defines a `ProviderKind` in its `kind.py`; `providers/registry.py`
lists them. The gateway builds every configured provider through `ProviderKind.make`, never by the kind's
name, so a new kind needs no edit outside `providers/`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gateway.validation.endpoints import default_endpoints
from providers.base import BlobStore, Progress, Provider, UpstreamObserver
from providers.settings import BaseProviderSettings

if TYPE_CHECKING:  # the Redis client type pulls in redis; `batchgate validate` loads kinds without it
    from gateway.core.redis_types import RedisClient

__all__ = ["AnyKind", "BuildContext", "LiveProgress", "ProviderKind"]

S = TypeVar("S", bound=BaseProviderSettings)

# Reads a running batch's counts where the kind records them cheaply (None: the gateway shows its last poll).
LiveProgress = Callable[["RedisClient", str], Awaitable[Progress | None]]


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What one process lends every provider it builds."""

    redis: RedisClient
    blobs: BlobStore
    worker_id: str
    observe: UpstreamObserver | None = None  # hears of every upstream call (the gateway's metrics)
    environ: Mapping[str, str] = field(default_factory=dict)  # where API keys are read, at the entry point
    clock: Callable[[], float] = time.time  # unix seconds: business time, movable in tests

    def api_key(self, settings: BaseProviderSettings) -> str | None:
        """The key from the variable `api_key_env` names; handed only to the provider that sends it."""
        return self.environ.get(settings.api_key_env) if settings.api_key_env else None


@dataclass(frozen=True, slots=True)
class ProviderKind(Generic[S]):
    name: str  # the `kind = "..."` of its config tables; the tag of `settings`
    settings: type[S]
    build: Callable[[str, S, BuildContext], Provider]
    live_progress: LiveProgress | None = None

    def __post_init__(self) -> None:
        tag = self.settings.__struct_config__.tag
        if tag != self.name:
            raise ValueError(f"kind {self.name!r}: its settings type is tagged {tag!r}")

    @property
    def default_endpoints(self) -> list[str]:
        """What its providers serve when their `endpoints` list is not given (`EndpointSpec.default_for`)."""
        return default_endpoints(self.name)

    def make(self, name: str, settings: BaseProviderSettings, context: BuildContext) -> Provider:
        if not isinstance(settings, self.settings):
            raise TypeError(f"provider {name!r}: {type(settings).__name__} are not {self.name} settings")
        return self.build(name, settings, context)


AnyKind = ProviderKind[Any]
