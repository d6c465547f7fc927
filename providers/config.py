"""How an operator configures one upstream provider (the `[providers.NAME]` tables of the config file)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

__all__ = ["ALL_ENDPOINTS", "Endpoint", "ProviderSettings"]

Endpoint = Literal["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]

ALL_ENDPOINTS: tuple[Endpoint, ...] = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class ProviderSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: Literal["openai_batch", "native"]
    base_url: str
    api_key_env: str = ""
    batch_discount: Decimal = Decimal(0)
    endpoints: list[Endpoint] = msgspec.field(default_factory=lambda: list(ALL_ENDPOINTS))
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
    # native: a chunk whose worker sent no heartbeat for this long is taken over by another worker.
    # (heartbeat every third of it, take-over sweep every half): a SIGKILLed worker's chunks resume in ~1.5x this.
    reclaim_idle_seconds: PositiveSeconds = 5.0
