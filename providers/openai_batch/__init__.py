"""The OpenAI-compatible upstream batch adapter (DeepSeek, DeepInfra, ...): quirks are settings, not code."""

from __future__ import annotations

from providers.base import BlobStore, Provider, UpstreamObserver
from providers.config import ProviderSettings
from providers.openai_batch.provider import OpenAIBatchProvider
from providers.retry import RetryPolicy

__all__ = ["OpenAIBatchProvider", "RetryPolicy", "build"]


def build(
    name: str,
    settings: ProviderSettings,
    blobs: BlobStore,
    api_key: str | None,
    observe: UpstreamObserver | None = None,
) -> Provider:
    """The gateway's factory for `kind = "openai_batch"` providers; `observe` hears of every upstream call."""
    return OpenAIBatchProvider(name, settings, blobs, api_key, observe=observe)
