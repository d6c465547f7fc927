"""How an operator configures one upstream provider (the `[providers.NAME]` tables of the config file)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from providers.endpoints import ALL_ENDPOINTS, ENDPOINTS, ProviderKind, default_endpoints

__all__ = ["ALL_ENDPOINTS", "ProviderSettings"]

if TYPE_CHECKING:
    EndpointName = str
else:  # built from the registry, so msgspec refuses any other endpoint with its path in the config
    EndpointName = Literal[ALL_ENDPOINTS]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class ProviderSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: ProviderKind
    base_url: str
    api_key_env: str = ""
    batch_discount: Decimal = Decimal(0)
    # Default: the kind's defaults (`providers.endpoints`): an `openai_batch` upstream serves
    # /v1/responses and /v1/moderations only when listed; the native executor runs every endpoint.
    endpoints: list[EndpointName] | None = None
    # openai_batch: bigger files are split into several upstream batches.
    max_requests_per_batch: PositiveInt = 50000
    max_bytes_per_batch: PositiveInt = 209_715_200
    poll_interval_seconds: PositiveSeconds = 30.0
    # Upstream API quirks, as data (DeepInfra names result files "batch-output", DeepSeek does not).
    output_purpose: str = "batch_output"
    delete_upstream_files: bool = False
    # native: execution limits.
    max_concurrency: PositiveInt = 64
    requests_per_minute: PositiveInt | None = None
    tokens_per_minute: PositiveInt | None = None
    max_attempts: PositiveInt = 5
    request_timeout_seconds: PositiveSeconds = 600.0
    # native: wait for the cheapest price window of the model's route that still meets the batch's deadline.
    defer_to_off_peak: bool = False
    # both kinds: retries (see providers/retry.py). Backoff ceilings double from `retry_base_seconds` up to
    # `retry_max_seconds`; an upstream's Retry-After is honoured up to `max_retry_after_seconds`.
    retry_base_seconds: PositiveSeconds = 0.5
    retry_max_seconds: PositiveSeconds = 30.0
    max_retry_after_seconds: PositiveSeconds = 60.0
    # native: a chunk whose worker sent no heartbeat for this long is taken over by another worker.
    # (heartbeat every third of it, take-over sweep every half): a SIGKILLed worker's chunks resume in ~1.5x this.
    reclaim_idle_seconds: PositiveSeconds = 5.0

    def __post_init__(self) -> None:
        if self.defer_to_off_peak and self.kind != "native":
            raise msgspec.ValidationError("defer_to_off_peak: only a native provider can wait for off-peak hours")
        if self.endpoints is None:
            self.endpoints = default_endpoints(self.kind)
            return
        for index, url in enumerate(self.endpoints):
            spec = ENDPOINTS.get(url)  # a config file is checked by `EndpointName`; code may build any list
            if spec is None or self.kind not in spec.served_by:
                raise msgspec.ValidationError(f"endpoints[{index}]: a {self.kind} provider cannot serve {url!r}")

    def serves_endpoint(self, endpoint: str) -> bool:
        return self.endpoints is not None and endpoint in self.endpoints
