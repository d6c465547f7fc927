"""The `openai_batch` kind: an upstream OpenAI-compatible batch API (DeepSeek, DeepInfra, ...)."""

from __future__ import annotations

from providers.base import Provider
from providers.kind import BuildContext, ProviderKind
from providers.openai_batch.settings import OpenAIBatchSettings

__all__ = ["OPENAI_BATCH"]


def _build(name: str, settings: OpenAIBatchSettings, context: BuildContext) -> Provider:
    from providers.openai_batch.provider import OpenAIBatchProvider  # httpx only when built

    return OpenAIBatchProvider(name, settings, context.blobs, context.api_key(settings), observe=context.observe)


OPENAI_BATCH = ProviderKind("openai_batch", OpenAIBatchSettings, _build)
