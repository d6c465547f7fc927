"""Redis Cluster readiness, checked statically: the keys every script or transaction gets together hash to one slot.

Each group below is what one call site passes (KEYS[] of a script, or the keys of a MULTI), built from the key
modules for many ids, tenants, statuses and providers. A key family that no group covers fails the last test,
so a new key cannot skip this check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType

import pytest
from redis.crc import key_slot

from accounting import keys as acct
from gateway.batches.lua import STATUS_ORDER
from gateway.redis import keys as gw
from providers import keys as prov

IDS = ["batch_01J0000000000000000000000A", "batch_zz", "file-abc", "x{y}z"]
TENANTS = ["alpha", "beta", "t.with-dots_1"]
PROVIDERS = ["local", "deepseek", "native-b"]
MONTHS, DAYS = ["2026-01", "2026-12"], ["2026-01-01", "2026-12-31"]


def _batch_lifecycle() -> list[str]:  # BatchStore.create / transition / update, with pruned in-flight members
    group = [gw.batches_by_expiry(), *(gw.batches_by_status(s.value) for s in STATUS_ORDER)]
    for tenant in TENANTS:
        group += [gw.batch_index(tenant), gw.batches_in_flight(tenant)]
    for batch_id in IDS:
        group += [gw.batch_record(batch_id), gw.batch_events(batch_id)]
    return group


def _file_metadata() -> list[str]:  # FileStore.create / delete transactions and get_many's MGET
    group = [gw.files_by_expiry(), *(gw.file_record(file_id) for file_id in IDS)]
    for tenant in TENANTS:
        group += [gw.file_index(tenant), gw.file_index(tenant, "batch"), gw.file_index(tenant, "batch_output")]
    return group


def _ledger() -> list[str]:  # every accounting script (settle, budget, reserve, release, month spend)
    group = [acct.global_index(), acct.reservation_owners(), *(acct.record(batch_id) for batch_id in IDS)]
    group += [acct.day_totals(day) for day in DAYS] + [acct.month_spend(month) for month in MONTHS]
    for tenant in TENANTS:
        group += [acct.tenant_index(tenant), acct.tenant_reservations(tenant)]
    group += [acct.tag_reservation_owners(), *(acct.tag_month_spend(month) for month in MONTHS)]
    group += [acct.tag_reservations(field) for field in ("team=research", "project=a/b:c@d+e-f.g")]
    group += [acct.tag_label_values(key) for key in ("team", "project")]  # ADMIT_LABELS takes every key at once
    return group


def _webhooks() -> list[str]:  # endpoint scripts (record + tenant index), ENQUEUE (marker, due, deliveries), CLAIM
    group = [gw.webhook_deliveries_due()]
    group += [gw.webhook_endpoint(i) for i in IDS] + [gw.webhook_endpoint_index(t) for t in TENANTS]
    group += [gw.webhook_delivery(i) for i in IDS] + [gw.webhook_batch_event(i) for i in IDS]
    return group


def _native_provider(provider: str) -> list[str]:  # ENQUEUE/NEXT (stream, marker, backlogs), RATE (both limits)
    rates = [prov.native_rate(provider, kind) for kind in ("rpm", "tpm")]
    backlogs = [prov.native_backlog(provider, batch_id) for batch_id in IDS]
    return [prov.native_stream(provider), prov.native_enqueued(provider), *rates, *backlogs]


GROUPS: list[tuple[str, list[str]]] = [
    ("batch lifecycle", _batch_lifecycle()),
    ("file metadata", _file_metadata()),
    ("work schedule", [gw.work_due(), gw.work_claims(), gw.work_tokens()]),
    ("ledger", _ledger()),
    ("webhooks", _webhooks()),
    *((f"upload leases of {t}", [gw.upload_leases(t)]) for t in TENANTS),
    *((f"deferred lines of {p}", [gw.deferred_lines(p)]) for p in PROVIDERS),  # one key per command
    ("measured throughput", [gw.measured_throughput()]),
    *((f"native provider {p}", _native_provider(p)) for p in PROVIDERS),
    *(
        (f"native batch {b}", [prov.native_meta(b), prov.native_results(b), prov.native_attempts(b)])
        for b in IDS
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "group"), GROUPS, ids=[name for name, _ in GROUPS])
def test_each_group_lives_in_one_slot(name: str, group: list[str]) -> None:
    slots = {key_slot(key.encode()) for key in group}
    assert len(slots) == 1, f"{name}: keys span slots {sorted(slots)}"


def test_per_line_state_is_spread_over_many_slots() -> None:
    """The heavy per-line keys must not share one slot (that would put all executor traffic on one node)."""
    slots = {key_slot(prov.native_results(f"batch_{i:04d}").encode()) for i in range(200)}
    assert len(slots) > 150


def _families(module: ModuleType) -> set[str]:
    return {name for name in module.__all__ if isinstance(getattr(module, name), Callable)}  # type: ignore[arg-type]


def test_every_key_family_is_in_a_group() -> None:
    covered = {key for _, group in GROUPS for key in group}
    for module in (gw, prov, acct):
        for name in _families(module):
            function = getattr(module, name)
            arity = len(inspect.signature(function).parameters)
            samples = [function()] if arity == 0 else [k for k in covered if k.startswith(_stem(function))]
            assert samples, f"{module.__name__}.{name} is not checked by any group"


def _stem(function: Callable[..., str]) -> str:
    """The constant text a family's keys start with: the key of a sentinel argument cut before it."""
    arity = len(inspect.signature(function).parameters)
    marker = "\x00"
    args = [marker] + (["rpm"] if function is prov.native_rate else [None] * (arity - 1))
    return str(function(*args)).split(marker)[0]
