"""The keys of a `kind = "openai_batch"` provider: sharding, and the upstream API's quirks as data."""

from __future__ import annotations

from providers.settings import BaseProviderSettings, PositiveInt

__all__ = ["OpenAIBatchSettings"]


class OpenAIBatchSettings(BaseProviderSettings, tag="openai_batch", kw_only=True, forbid_unknown_fields=True):
    # Bigger files are split into several upstream batches.
    max_requests_per_batch: PositiveInt = 50000
    max_bytes_per_batch: PositiveInt = 209_715_200
    # DeepInfra names result files "batch-output", DeepSeek does not.
    output_purpose: str = "batch_output"
    delete_upstream_files: bool = False
