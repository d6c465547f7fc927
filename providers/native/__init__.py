"""The native executor: batchgate runs batch lines itself against a real-time OpenAI-compatible endpoint.

The package itself loads only its kind and settings (the config loads them); the executor is
`providers.native.provider.NativeProvider`, imported when a provider is built.
"""

from providers.native.kind import NATIVE
from providers.native.settings import NativeSettings

__all__ = ["NATIVE", "NativeSettings"]
