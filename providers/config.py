"""How an operator configures one upstream provider (the `[providers.NAME]` tables of the config file).

`ProviderSettings` is the union of every registered kind's settings, tagged on `kind`: the keys all kinds
share are in `providers/settings.py`, each kind's own in `providers/<kind>/settings.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.native.settings import NativeSettings
from providers.openai_batch.settings import OpenAIBatchSettings
from providers.registry import REGISTRY
from providers.settings import BaseProviderSettings

__all__ = ["BaseProviderSettings", "NativeSettings", "OpenAIBatchSettings", "ProviderSettings"]

if TYPE_CHECKING:
    ProviderSettings = BaseProviderSettings
else:
    ProviderSettings = REGISTRY.settings_union
