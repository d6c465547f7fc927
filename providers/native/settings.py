"""The keys of a `kind = "native"` provider: the executor's limits, take-over and off-peak deferral."""

from __future__ import annotations

from providers.settings import BaseProviderSettings, DeferralLimits, PositiveInt, PositiveSeconds

__all__ = ["NativeSettings"]


class NativeSettings(BaseProviderSettings, tag="native", kw_only=True, forbid_unknown_fields=True):
    tokens_per_minute: PositiveInt | None = None
    # Wait for the cheapest price window of the model's route that still meets the batch's deadline.
    defer_to_off_peak: bool = False
    # A chunk whose worker sent no heartbeat for this long is taken over by another worker
    # (heartbeat every third of it, take-over sweep every half): a SIGKILLed worker's chunks resume in ~1.5x this.
    reclaim_idle_seconds: PositiveSeconds = 5.0

    def deferral_limits(self) -> DeferralLimits | None:
        if not self.defer_to_off_peak:
            return None
        return DeferralLimits(self.requests_per_minute, self.tokens_per_minute)
