"""How the simulated upstream behaves: one flavour per real service, quirks as data."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["DEEPINFRA", "DEEPSEEK", "SimOptions"]


class SimOptions(msgspec.Struct, kw_only=True):
    """Everything a test may tune; the control endpoint accepts the same fields as JSON."""

    api_key: str = "sk-upstream"
    file_id_prefix: str = "file-"  # DeepInfra: "file_"
    output_purpose: str = "batch_output"  # DeepInfra: "batch-output"
    usage_style: Literal["openai", "deepseek"] = "openai"  # deepseek: prompt_cache_hit/miss_tokens
    validating_seconds: float = 0.02
    in_progress_seconds: float = 0.05
    finalizing_seconds: float = 0.02
    cancelling_seconds: float = 0.02
    max_requests_per_batch: int = 50000
    list_batches_max_limit: int = 100
    # Behaviours chosen per test.
    failed_custom_ids: list[str] = msgspec.field(default_factory=list)  # these lines get a 400 error line
    expire: bool = False  # batches expire after running `expire_fraction` of their lines
    expire_fraction: float = 0.5
    hang: bool = False  # batches stay in_progress forever
    validation_errors: list[dict[str, object]] = msgspec.field(default_factory=list)  # non-empty: batches fail
    completion_pad: int = 0  # extra characters in each completion (to make big output files)
    refused_shards: list[str] = msgspec.field(default_factory=list)  # creates with this `batchgate_shard` get a 400
    # Non-zero: no batch API here (DeepSeek's real-time-only API): every Files/Batches call answers this status.
    batch_api_status: int = 0


DEEPSEEK = SimOptions(usage_style="deepseek")
DEEPINFRA = SimOptions(file_id_prefix="file_", output_purpose="batch-output")
