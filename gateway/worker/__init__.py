"""The worker: validates batches, drives providers, assembles results and settles cost."""

from gateway.worker.loop import Worker
from gateway.worker.providers import ProviderSet, build_providers

__all__ = ["ProviderSet", "Worker", "build_providers"]
