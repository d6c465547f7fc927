"""No batch wedges: one fault at a time against a whole chaos cluster (API and worker processes, Redis,
simulated upstreams), then every batch must end, account for every request once, and leave nothing held.

For each scenario: every batch terminal within the fault's end + 60 s; every custom_id exactly once across
output + error files (a batch `failed` before it ran has no files, like OpenAI's); one ledger record whose
tokens equal the usage in its result lines; no budget reservation and no schedule entry left; no upstream
batch twice; no process that died by itself. It prints a table: fault → outcome → seconds to terminal.

The same faults, one batch each and in-process, run fast in the default suite: tests/e2e/test_step_failures.py
and tests/e2e/test_redis_outage.py. These are the full-process versions (`-m slow`, `make chaos`).
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest
import redis

from accounting import keys as ledger_keys
from gateway.redis import keys
from tests.chaos.cluster import ChaosCluster
from tests.chaos.invariants import TERMINAL, Findings, custom_ids_of
from tests.chaos.invariants import _check_upstreams as check_upstreams
from tests.chaos.workload import Resilient
from tests.conftest import TENANT_KEYS
from tests.support.batch_upstream import Fault
from tests.support.workflow import jsonl, line

FAULT_END_GRACE_SECONDS = 60.0
WORK_SECONDS = 30.0  # what the batches need without any fault (upstreams take 2-5 s, native a few s)
ROWS: list[str] = []


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ChaosCluster]:
    world = ChaosCluster(tmp_path, workers=2, default_metrics_ports=True)  # two workers on one host
    try:
        world.start()
        yield world
    finally:
        world.stop()  # also after a failed start: no process or mount outlives the test


@pytest.fixture
def client(cluster: ChaosCluster) -> Iterator[Resilient]:
    resilient = Resilient(cluster.api_urls, deadline_seconds=90)
    yield resilient
    resilient.close()


def _submit(client: Resilient, model: str, count: int, tag: str) -> str:
    body = jsonl([line(f"{tag}-{i}", model=model) for i in range(count)])
    upload = client.call(lambda sdk: sdk.files.create(file=(f"{tag}.jsonl", body), purpose="batch"))
    create = lambda sdk: sdk.batches.create(  # noqa: E731  # a one-line action for Resilient.call
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    return str(client.call(create).id)


def _mixed(client: Resilient, tag: str) -> list[str]:
    return [
        _submit(client, "deepseek-chat", 30, f"{tag}-ds"),
        _submit(client, "llama-di", 20, f"{tag}-di"),
        _submit(client, "local-model", 300, f"{tag}-nat"),
    ]


def _status(client: Resilient, batch_id: str) -> str:
    return str(client.call(lambda sdk: sdk.batches.retrieve(batch_id)).status)


def _wait_status(client: Resilient, batch_id: str, wanted: set[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _status(client, batch_id) not in wanted:
        assert time.monotonic() < deadline, f"{batch_id} never reached {wanted}"
        time.sleep(0.1)


def _wait_terminal(client: Resilient, batch_ids: list[str], fault_ended: float) -> float:
    """Seconds from the fault's end until every batch is terminal; fails past the bound."""
    deadline = fault_ended + FAULT_END_GRACE_SECONDS + WORK_SECONDS
    while time.monotonic() < deadline:
        if all(_status(client, batch_id) in TERMINAL for batch_id in batch_ids):
            return round(time.monotonic() - fault_ended, 1)
        time.sleep(0.3)
    stuck = {batch_id: _status(client, batch_id) for batch_id in batch_ids}
    raise AssertionError(f"not terminal {FAULT_END_GRACE_SECONDS + WORK_SECONDS:.0f} s after the fault: {stuck}")


def _usage(sdk: openai.OpenAI, file_id: str | None) -> Counter[str]:
    totals: Counter[str] = Counter()
    if not file_id:
        return totals
    for row in sdk.files.content(file_id).text.splitlines():
        response = json.loads(row).get("response") or {}
        usage = (response.get("body") or {}).get("usage") or {}
        totals["input_tokens"] += usage.get("prompt_tokens", 0)
        totals["output_tokens"] += usage.get("completion_tokens", 0)
    return totals


def check_no_wedge(cluster: ChaosCluster, client: Resilient, batch_ids: list[str]) -> Findings:
    """The invariants of this module's docstring, over the batches the scenario made."""
    found = Findings()
    sdk = client.clients[0]
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}
    batches = [sdk.batches.retrieve(batch_id) for batch_id in batch_ids]
    found.statuses = dict(Counter(batch.status for batch in batches))
    store = redis.Redis(port=cluster.redis.port)
    deadline = time.monotonic() + 15  # closing (settle, release, unschedule) follows the terminal status
    while any(store.zscore(keys.work_due(), b.id) is not None for b in batches) and time.monotonic() < deadline:
        time.sleep(0.2)
    for batch in batches:
        if batch.status != "failed" or batch.output_file_id or batch.error_file_id:
            expected = custom_ids_of(sdk, batch.input_file_id)
            got = Counter(custom_ids_of(sdk, batch.output_file_id) + custom_ids_of(sdk, batch.error_file_id))
            found.lost += len(set(expected) - set(got))
            found.duplicates += sum(count - 1 for count in got.values())
            found.foreign += len(set(got) - set(expected))
        record = httpx.get(f"{cluster.api_urls[0]}/accounting/batches/{batch.id}", headers=headers, timeout=10)
        if record.status_code != 200:
            found.unsettled += 1
            found.problems.append(f"{batch.id} ({batch.status}) has no ledger record")
            continue
        usage = _usage(sdk, batch.output_file_id) + _usage(sdk, batch.error_file_id)
        settled = record.json()
        if (settled["input_tokens"], settled["output_tokens"]) != (usage["input_tokens"], usage["output_tokens"]):
            found.ledger_mismatches += 1
            found.problems.append(f"{batch.id}: ledger tokens {settled} vs result lines {dict(usage)}")
        if store.hexists(ledger_keys.reservation_owners(), batch.id):
            found.problems.append(f"{batch.id}: budget reservation still held")
        if store.zscore(keys.work_due(), batch.id) is not None:
            found.problems.append(f"{batch.id}: still on the work schedule")
    store.close()
    check_upstreams(cluster, batches, found)
    cluster.note_deaths()
    found.unplanned_deaths = len(cluster.unplanned_deaths)
    found.problems += [f"unplanned death: {death}" for death in cluster.unplanned_deaths]
    return found


def _assert_clean(found: Findings) -> None:
    counters = (found.lost, found.duplicates, found.foreign, found.unsettled, found.ledger_mismatches)
    assert counters == (0, 0, 0, 0, 0), found.problems
    assert found.unplanned_deaths == 0, found.problems
    assert not found.problems, found.problems


def _redis_down_20s(cluster: ChaosCluster, client: Resilient) -> list[str]:
    batch_ids = _mixed(client, "rd")
    _wait_status(client, batch_ids[2], {"in_progress"})
    cluster.redis.kill()
    time.sleep(20)
    cluster.redis.start()
    return batch_ids


def _input_deleted(cluster: ChaosCluster, client: Resilient) -> list[str]:
    # Every upload upstream fails for now, so the submit (after validation) keeps being retried...
    cluster.deepseek.add_fault(Fault(route="upload", count=10_000, status=503))
    batch_id = _submit(client, "deepseek-chat", 10, "del")
    _wait_status(client, batch_id, {"in_progress"})
    time.sleep(1.5)
    # ...while the input file is deleted through the API: the next attempt finds it gone.
    input_file = client.call(lambda sdk: sdk.batches.retrieve(batch_id)).input_file_id
    client.call(lambda sdk: sdk.files.delete(input_file))
    cluster.deepseek.faults.clear()
    return [batch_id]


def _upstream_404(cluster: ChaosCluster, client: Resilient) -> list[str]:
    cluster.deepseek.add_fault(Fault(route="content", count=10_000, status=404))
    return [_submit(client, "deepseek-chat", 15, "gone")]


def _unreadable_chunk(cluster: ChaosCluster, client: Resilient) -> list[str]:
    cluster.local.latency = 0.05  # 2000 lines on 8 slots: ~12 s, so the backlog's chunks are read late
    batch_id = _submit(client, "local-model", 2000, "chunk")  # 10 chunk files of 200 lines, 4 on the stream
    _wait_status(client, batch_id, {"in_progress"})
    last = _chunk_files(cluster, batch_id, 9)
    for path in last:  # the last two, still in the batch's backlog: read only after the first eight ran
        path.unlink()
    return [batch_id]


def _chunk_files(cluster: ChaosCluster, batch_id: str, index: int) -> list[Path]:
    """Chunk files `index - 1` and `index` of a native batch, once written."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = sorted(cluster.storage_dir.rglob(f"{batch_id}/chunk-*.jsonl"))
        wanted = [p for p in found if p.name in (f"chunk-{index - 1}.jsonl", f"chunk-{index}.jsonl")]
        if len(wanted) == 2:
            return wanted
        time.sleep(0.05)
    raise AssertionError(f"chunk files of {batch_id} never appeared")


def _sigstop_past_lease(cluster: ChaosCluster, client: Resilient) -> list[str]:
    """Worker A is stopped inside its upload (held by the upstream), i.e. after it looked for an earlier
    attempt's upstream batch and before it creates its own; B takes the batch over; A is resumed."""
    first, second = (worker.process for worker in cluster.workers)
    assert first is not None
    assert second is not None
    second.send_signal(signal.SIGSTOP)  # parked while idle, so A claims the batch
    try:
        cluster.deepseek.add_fault(Fault(route="upload", hang_seconds=4.0, slow_only=True))
        batch_id = _submit(client, "deepseek-chat", 12, "stop")
        deadline = time.monotonic() + 30
        while _sim_calls(cluster, "upload") < 1:
            assert time.monotonic() < deadline, "worker A never uploaded"
            time.sleep(0.05)
        first.send_signal(signal.SIGSTOP)
        second.send_signal(signal.SIGCONT)
        time.sleep(8.0)  # four leases: B takes over, uploads and creates; A's upload is answered meanwhile
    finally:
        first.send_signal(signal.SIGCONT)
        second.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 15  # A's next move, before anything is checked: a second create, or none
    while "lease_lost" not in cluster.workers[0].log_path.read_text() and _sim_calls(cluster, "create") < 2:
        assert time.monotonic() < deadline, "the resumed worker neither stopped nor created"
        time.sleep(0.1)
    time.sleep(1.0)  # anything A would still do, it does now
    return [batch_id]


def _sim_calls(cluster: ChaosCluster, route: str) -> int:
    stats = httpx.get(f"http://127.0.0.1:{cluster.deepseek.port}/_sim/stats", timeout=5).json()
    return int(stats["calls"].get(route, 0))


def _shard_refused(cluster: ChaosCluster, client: Resilient) -> list[str]:
    cluster.deepseek.options.refused_shards = ["1"]  # the second create (shards count from 0) answers 400
    return [_submit(client, "deepseek-sharded", 25, "shard")]  # 10 lines per upstream batch: 3 shards


def _sigkill_random(cluster: ChaosCluster, client: Resilient) -> list[str]:
    rng = random.Random(7)
    batch_ids = _mixed(client, "kill")
    for _ in range(4):
        time.sleep(rng.uniform(0.5, 4.0))
        cluster.bounce([rng.choice(cluster.workers)], rng.uniform(0.1, 1.0))
    return batch_ids


def _two_workers_one_killed(cluster: ChaosCluster, client: Resilient) -> list[str]:
    batch_ids = _mixed(client, "two")
    _wait_status(client, batch_ids[2], {"in_progress"})
    victim = cluster.workers.pop(0)  # killed for good: the other one must finish everything
    victim.kill()
    return batch_ids


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("redis down 20 s mid-run", {"completed"}),
        ("input deleted after validation", {"failed"}),
        ("upstream output 404", {"completed"}),
        ("unreadable chunk file", {"completed"}),
        ("SIGSTOP past the lease", {"completed"}),
        ("shard 2 create answers 400", {"completed"}),
        ("SIGKILL at random points", {"completed"}),
        ("two workers per host, one killed", {"completed"}),
    ],
)
def test_no_batch_wedges(cluster: ChaosCluster, client: Resilient, scenario: str, expected: set[str]) -> None:
    inject: Callable[[ChaosCluster, Resilient], list[str]] = {
        "redis down 20 s mid-run": _redis_down_20s,
        "input deleted after validation": _input_deleted,
        "upstream output 404": _upstream_404,
        "unreadable chunk file": _unreadable_chunk,
        "SIGSTOP past the lease": _sigstop_past_lease,
        "shard 2 create answers 400": _shard_refused,
        "SIGKILL at random points": _sigkill_random,
        "two workers per host, one killed": _two_workers_one_killed,
    }[scenario]
    started = time.monotonic()
    batch_ids = inject(cluster, client)
    seconds = _wait_terminal(client, batch_ids, time.monotonic())
    found = check_no_wedge(cluster, client, batch_ids)
    ROWS.append(f"{scenario:<36} {json.dumps(found.statuses):<40} {seconds:>6} s after the fault "
                f"({round(time.monotonic() - started)} s in all)")  # fmt: skip
    print(
        "\nfault                                outcome                                  to terminal\n"
        + "\n".join(ROWS)
    )
    assert set(found.statuses) == expected, found.statuses
    _assert_clean(found)
    if scenario in CODES:  # the batch says why it ended: errors.data, or each line of the error file
        batch = client.call(lambda sdk: sdk.batches.retrieve(batch_ids[0]))
        data = [e.code for e in (batch.errors.data or [])] if batch.errors else []
        lines = {json.loads(row)["error"]["code"] for row in _rows(client.clients[0], batch.error_file_id)}
        assert CODES[scenario] in data or lines == {CODES[scenario]}, (data, lines)

    if scenario in SHAPES:
        SHAPES[scenario](cluster, client, batch_ids[0])


CODES = {
    "input deleted after validation": "input_file_missing",
    "upstream output 404": "upstream_result_missing",
    "unreadable chunk file": "input_file_missing",
    "shard 2 create answers 400": "batch_failed",
}


def _lost_chunks_shape(cluster: ChaosCluster, client: Resilient, batch_id: str) -> None:
    """The two deleted chunks' 400 lines are the error file; the eight others ran."""
    counts = client.call(lambda sdk: sdk.batches.retrieve(batch_id)).request_counts
    assert counts is not None
    assert (counts.total, counts.completed, counts.failed) == (2000, 1600, 400), counts


def _one_upstream_batch(cluster: ChaosCluster, client: Resilient, batch_id: str) -> None:
    assert _sim_calls(cluster, "create") == 1, "the paused worker created a second upstream batch"
    assert "lease_lost" in cluster.workers[0].log_path.read_text(), "the resumed worker never saw its lease lost"


def _first_shard_followed(cluster: ChaosCluster, client: Resilient, batch_id: str) -> None:
    """Shard 0 was created, followed to its end and paid; shard 1 was refused; shard 2 never created."""
    ours = [
        b
        for b in list(cluster.deepseek.store.batches.values())
        if (b.metadata or {}).get("batchgate_batch_id") == batch_id
    ]
    assert [(b.metadata or {}).get("batchgate_shard") for b in ours] == ["0"], ours
    assert ours[0].status == "completed", ours[0].status
    counts = client.call(lambda sdk: sdk.batches.retrieve(batch_id)).request_counts
    assert counts is not None
    assert (counts.total, counts.completed, counts.failed) == (25, 10, 15), counts


SHAPES: dict[str, Callable[[ChaosCluster, Resilient, str], None]] = {
    "unreadable chunk file": _lost_chunks_shape,
    "SIGSTOP past the lease": _one_upstream_batch,
    "shard 2 create answers 400": _first_shard_followed,
}


def _rows(sdk: openai.OpenAI, file_id: str | None) -> list[str]:
    return sdk.files.content(file_id).text.splitlines() if file_id else []
