"""The OpenAI-compatible upstream batch adapter (DeepSeek, DeepInfra, ...): quirks are settings, not code.

The package itself loads only its kind and settings (the config loads them); the adapter is
`providers.openai_batch.provider.OpenAIBatchProvider`, imported when a provider is built.
"""

from providers.openai_batch.kind import OPENAI_BATCH
from providers.openai_batch.settings import OpenAIBatchSettings

__all__ = ["OPENAI_BATCH", "OpenAIBatchSettings"]
