"""What must hold after a chaos round has recovered: nothing lost, nothing twice, everything paid once.

`check_round` reads every batch the gateway has (not only the ones the round meant to create: a create
retried after a lost answer makes another), and returns a `Findings` whose counters must be zero.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
import openai
import redis

from gateway.redis import keys
from tests.chaos.cluster import ChaosCluster
from tests.conftest import TENANT_KEYS

__all__ = ["Findings", "check_round", "custom_ids_of"]

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
_SUMMED = ("requests_completed", "requests_failed", "input_tokens", "output_tokens", "batch_cost_usd", "list_cost_usd")


class Findings(msgspec.Struct, kw_only=True):
    batches: int = 0
    statuses: dict[str, int] = msgspec.field(default_factory=dict)
    lost: int = 0  # input custom_ids missing from output+error
    duplicates: int = 0  # custom_ids more than once, plus extra upstream batches per gateway batch
    foreign: int = 0  # custom_ids in results that were not in the input
    unsettled: int = 0
    settled_twice: int = 0
    ledger_mismatches: int = 0
    summary_mismatches: int = 0
    orphan_files: int = 0
    partial_writes: int = 0  # `.part` files of interrupted writes (reported, not an orphan object)
    unplanned_deaths: int = 0  # processes that exited by themselves (never restarted silently)
    problems: list[str] = msgspec.field(default_factory=list)


def custom_ids_of(sdk: openai.OpenAI, file_id: str | None) -> list[str]:
    if not file_id:
        return []
    return [json.loads(row)["custom_id"] for row in sdk.files.content(file_id).text.splitlines() if row]


def check_round(cluster: ChaosCluster, sdk: openai.OpenAI) -> Findings:
    found = Findings()
    batches = list(sdk.batches.list(limit=100))
    found.batches = len(batches)
    found.statuses = dict(Counter(batch.status for batch in batches))
    for batch in batches:
        _check_results(sdk, batch, found)
    _check_ledger(cluster, batches, found)
    _check_upstreams(cluster, batches, found)
    _check_storage(cluster, found)
    return found


def _check_results(sdk: openai.OpenAI, batch: openai.types.Batch, found: Findings) -> None:
    if batch.status not in TERMINAL:
        found.problems.append(f"{batch.id} is still {batch.status}")
        return
    if batch.status == "failed":
        found.problems.append(f"{batch.id} failed: {batch.errors}")
        return
    expected = custom_ids_of(sdk, batch.input_file_id)
    got = Counter(custom_ids_of(sdk, batch.output_file_id) + custom_ids_of(sdk, batch.error_file_id))
    lost = set(expected) - set(got)
    twice = sum(count - 1 for count in got.values())
    foreign = set(got) - set(expected)
    found.lost += len(lost)
    found.duplicates += twice
    found.foreign += len(foreign)
    if lost or twice or foreign:
        found.problems.append(f"{batch.id}: {len(lost)} lost, {twice} duplicated, {len(foreign)} foreign")
    counts = batch.request_counts
    if counts is None or counts.total != len(expected) or counts.completed + counts.failed != counts.total:
        found.problems.append(f"{batch.id}: request_counts {counts} for {len(expected)} lines")


def _check_ledger(cluster: ChaosCluster, batches: list[openai.types.Batch], found: Findings) -> None:
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    base = cluster.api_urls[0]
    records: list[dict[str, object]] = []
    after: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 1000} | ({"after": after} if after else {})
        page = httpx.get(f"{base}/accounting/batches", headers=headers, params=params, timeout=10).json()
        records += page["data"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    per_batch = Counter(str(record["batch_id"]) for record in records)
    by_id = {str(record["batch_id"]): record for record in records}
    for batch in batches:
        if per_batch[batch.id] == 0:
            found.unsettled += 1
            found.problems.append(f"{batch.id} ({batch.status}) has no ledger record")
        record = by_id.get(batch.id)
        counts = batch.request_counts
        pair = (counts.completed, counts.failed) if counts is not None else None
        if record is not None and (record["requests_completed"], record["requests_failed"]) != pair:
            found.ledger_mismatches += 1
            found.problems.append(f"{batch.id}: ledger counts {record} vs {counts}")
    found.settled_twice += sum(count - 1 for count in per_batch.values())
    summary = httpx.get(f"{base}/accounting/summary", headers=headers, timeout=10).json()["data"]
    totals = {field: sum((Decimal(str(row[field])) for row in summary), Decimal(0)) for field in _SUMMED}
    for field in _SUMMED:
        expected = sum((Decimal(str(record[field])) for record in records), Decimal(0))
        if totals[field] != expected:
            found.summary_mismatches += 1
            found.problems.append(f"summary {field} = {totals[field]}, records sum to {expected}")


def _check_upstreams(cluster: ChaosCluster, batches: list[openai.types.Batch], found: Findings) -> None:
    ours = {batch.id for batch in batches}
    for name, upstream in (("deepseek", cluster.deepseek), ("deepinfra", cluster.deepinfra)):
        shards = Counter(
            (meta.get("batchgate_batch_id"), meta.get("batchgate_shard"))
            for meta in (b.metadata or {} for b in list(upstream.store.batches.values()))
        )
        for (batch_id, shard), count in shards.items():
            if count > 1:
                found.duplicates += count - 1
                found.problems.append(f"{name}: {count} upstream batches for {batch_id} shard {shard}")
            if batch_id not in ours:
                found.problems.append(f"{name}: upstream batch for unknown gateway batch {batch_id}")


def _check_storage(cluster: ChaosCluster, found: Findings) -> None:
    client = redis.Redis(port=cluster.redis.port)
    try:
        for path in sorted(p for p in cluster.storage_dir.rglob("*") if p.is_file()):
            key = path.relative_to(cluster.storage_dir).as_posix()
            if path.name.endswith(".part"):
                found.partial_writes += 1
                found.problems.append(f"partial write left behind: {key}")
            elif not _owned(client, key, path):
                found.orphan_files += 1
                found.problems.append(f"orphan storage object: {key}")
    finally:
        client.close()


def _owned(client: redis.Redis, key: str, path: Path) -> bool:
    parts = key.split("/")
    if parts[0] == "files" and len(parts) == 2:
        return bool(client.exists(keys.file_record(parts[1])))
    if parts[0] == "batches" and len(parts) == 3:  # custom_ids: only while the batch has not closed
        status = client.hget(keys.batch_record(parts[1]), "status")
        return isinstance(status, bytes) and status.decode() not in TERMINAL
    return path.name.startswith(".ready-")  # a readiness probe caught mid-way by a kill
