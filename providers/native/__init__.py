"""The native executor: batchgate runs batch lines itself against a real-time OpenAI-compatible endpoint."""

from providers.native.provider import NativeProvider, build
from providers.native.tuning import NativeTuning

__all__ = ["NativeProvider", "NativeTuning", "build"]
