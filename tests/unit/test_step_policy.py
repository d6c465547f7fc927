"""The step policy's classification and bounds (gateway/worker/failures.py), and the outage log's shape."""

from __future__ import annotations

import httpx
import pytest
import structlog
from redis.exceptions import BusyLoadingError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.batches import BatchRecord
from gateway.ops.liveness import RedisOutage
from gateway.storage.local import ObjectMissing, StorageError
from gateway.worker.failures import MIN_RETRY_SECONDS, classify, retry_deadline
from providers.base import ProviderError

CASES = [
    (RedisConnectionError("refused"), "poll", True, "redis_unavailable"),
    (RedisTimeoutError("slow"), "validate", True, "redis_unavailable"),
    (BusyLoadingError("loading"), "finish", True, "redis_unavailable"),
    (ResponseError("READONLY"), "submit", True, "redis_unavailable"),
    (ObjectMissing("gone"), "validate", False, "input_file_missing"),
    (ObjectMissing("gone"), "submit", False, "input_file_missing"),
    (ObjectMissing("gone"), "finish", False, "internal_error"),
    (StorageError("disk full"), "finish", True, "storage_unavailable"),
    (ProviderError("503", retryable=True), "poll", True, "upstream_unavailable"),
    (ProviderError("404", retryable=False, code="provider_rejected"), "finish", False, "upstream_result_missing"),
    (ProviderError("404", retryable=False, code="provider_rejected"), "hand_over", False, "upstream_result_missing"),
    (ProviderError("400", retryable=False, code="provider_rejected"), "submit", False, "provider_rejected"),
    (ProviderError("401", retryable=False, code="provider_auth_failed"), "finish", False, "provider_auth_failed"),
    (httpx.ConnectError("refused"), "poll", True, "network_error"),
    (ConnectionResetError("reset"), "poll", True, "network_error"),
    (TimeoutError(), "poll", True, "network_error"),
    (KeyError("bug"), "poll", False, "internal_error"),
]


@pytest.mark.parametrize(("exc", "step", "transient", "code"), CASES)
def test_every_failure_is_transient_or_permanent_with_a_code(
    exc: Exception, step: str, transient: bool, code: str
) -> None:
    failure = classify(exc, step)
    assert (failure.transient, failure.code) == (transient, code)
    assert failure.bug == isinstance(exc, KeyError)


def test_builtin_connection_errors_and_redis_ones_are_both_transient() -> None:
    # The bug this policy replaces: redis-py's ConnectionError is not the builtin one.
    assert not issubclass(RedisConnectionError, ConnectionError)
    assert classify(RedisConnectionError(), "poll").transient
    assert classify(ConnectionRefusedError(), "poll").transient


def _record(expires_at: int | None) -> BatchRecord:
    return BatchRecord(id="batch_x", tenant="t", endpoint="/v1/chat/completions", input_file_id="f", created_at=0,
                       expires_at=expires_at)  # fmt: skip


def test_steps_before_the_upstream_has_work_stop_at_expiry() -> None:
    assert retry_deadline(_record(None), "submit", 1000, 600) == 1600
    assert retry_deadline(_record(1200), "submit", 1000, 600) == 1200
    assert retry_deadline(_record(900), "validate", 1000, 600) == 1000 + MIN_RETRY_SECONDS  # already past it


def test_steps_holding_upstream_work_go_on_until_the_window_ends() -> None:
    assert retry_deadline(_record(50_000), "poll", 1000, 600) == 50_000
    assert retry_deadline(_record(1200), "finish", 1000, 600) == 1600  # and at least the budget


def test_an_outage_logs_one_unavailable_and_one_recovered_line(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 1.0, 2.0, 2.5, 2.6, 3.0, 4.0])
    monkeypatch.setattr("gateway.ops.liveness.time.monotonic", lambda: next(clock))
    outage = RedisOutage("worker")
    with structlog.testing.capture_logs() as logs:
        outage.failed(RedisConnectionError("refused"))  # t=0: down
        outage.failed(RedisConnectionError("refused"))
        outage.ok()  # t=1: a first success
        outage.failed(RedisConnectionError("closed"))  # a stale pooled connection: the same outage
        outage.ok()  # t=2: a first success again
        outage.ok()  # t=2.5: not settled yet
        outage.ok()  # t=2.6
        outage.ok()  # t=3: settled, recovered
        outage.ok()
    assert [entry["event"] for entry in logs] == ["redis_unavailable", "redis_recovered"]
    assert not outage.down
