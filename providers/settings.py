"""The keys every provider kind shares; each kind's own keys live in `providers/<kind>/settings.py`.

A kind's settings struct subclasses `BaseProviderSettings` with `tag=<kind name>`, so the config's
`[providers.NAME]` tables decode as a msgspec union tagged on `kind` (`providers/config.py`), and a key of
another kind is refused with its path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, NamedTuple

import msgspec

from gateway.validation.endpoints import ALL_ENDPOINTS, ENDPOINTS, default_endpoints

__all__ = ["BaseProviderSettings", "EndpointName", "PositiveInt", "PositiveSeconds"]

if TYPE_CHECKING:
    EndpointName = str
else:  # built from the endpoint specs, so msgspec refuses any other endpoint with its path in the config
    EndpointName = Literal[ALL_ENDPOINTS]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class BaseProviderSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="kind"):
    base_url: str
    api_key_env: str = ""
    batch_discount: Decimal = Decimal(0)
    # Default: the kind's defaults (`EndpointSpec.default_for`): an `openai_batch` upstream serves
    # /v1/responses and /v1/moderations only when listed; the native executor runs every endpoint.
    endpoints: list[EndpointName] | None = None
    # Upstream HTTP calls (native: lines; openai_batch: API calls) in flight at once, and their pace.
    max_concurrency: PositiveInt = 64
    requests_per_minute: PositiveInt | None = None
    request_timeout_seconds: PositiveSeconds = 600.0
    # How often the worker polls a running batch at the most (its backoff between polls stops here).
    poll_interval_seconds: PositiveSeconds = 30.0
    # Retries (providers/retry.py): attempts in all, the first included; backoff ceilings double from
    # `retry_base_seconds` up to `retry_max_seconds`; an upstream's Retry-After is honoured up to
    # `max_retry_after_seconds`.
    max_attempts: PositiveInt = 5
    retry_base_seconds: PositiveSeconds = 0.5
    retry_max_seconds: PositiveSeconds = 30.0
    max_retry_after_seconds: PositiveSeconds = 60.0

    def __post_init__(self) -> None:
        if self.endpoints is None:
            self.endpoints = default_endpoints(self.kind)
            return
        for index, url in enumerate(self.endpoints):
            if url not in ENDPOINTS:  # a config file is checked by `EndpointName`; code may build any list
                raise msgspec.ValidationError(f"endpoints[{index}]: a {self.kind} provider cannot serve {url!r}")

    @property
    def kind(self) -> str:
        """The kind's name: the tag this struct decodes from (`kind = "..."` in the config)."""
        return str(self.__struct_config__.tag)

    def serves_endpoint(self, endpoint: str) -> bool:
        return self.endpoints is not None and endpoint in self.endpoints

    def deferral_limits(self) -> DeferralLimits | None:
        """The limits an off-peak plan is estimated from, or None when this provider does not defer (only a
        kind that runs the lines itself can wait for a cheaper hour)."""
        return None


class DeferralLimits(NamedTuple):
    requests_per_minute: int | None
    tokens_per_minute: int | None
