"""One chaos round: start the world, submit the plans, let the monkey loose, heal, wait, check."""

from __future__ import annotations

import contextlib
import functools
import io
import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import msgspec
import openai
import redis

from gateway.redis import keys
from tests.chaos.cluster import ChaosCluster
from tests.chaos.invariants import TERMINAL, Findings, check_round
from tests.chaos.monkey import Monkey
from tests.chaos.workload import Plan, Resilient, plans_for_round
from tests.conftest import TENANT_KEYS

__all__ = ["RoundResult", "run_round"]

RECOVERY_BOUND_SECONDS = 150.0


class RoundResult(msgspec.Struct, kw_only=True):
    round_no: int
    seed: str
    findings: Findings
    faults: dict[str, int]
    missed_aims: dict[str, int]
    restarts: int
    client_retries: int
    recovery_seconds: float
    tmpfs: bool


class _SlowFile(io.BytesIO):
    """An upload body that trickles, so a replica can be killed while it is still receiving it."""

    def read(self, size: int | None = -1) -> bytes:
        time.sleep(0.03)
        return super().read(min(size or 16384, 16384) if size and size > 0 else 16384)


def run_round(root: Path, seed: str, round_no: int, *, smoke: bool = False) -> RoundResult:
    rng = random.Random(f"{seed}-{round_no}")
    cluster = ChaosCluster(root, workers=2 if smoke else rng.choice([2, 3]))
    try:
        cluster.start()
        client = Resilient(cluster.api_urls)
        try:
            return _play(cluster, client, rng, seed, round_no, smoke)
        finally:
            client.close()
    finally:
        cluster.stop()  # also after a failed start: no process outlives the test


def _play(
    cluster: ChaosCluster, client: Resilient, rng: random.Random, seed: str, round_no: int, smoke: bool
) -> RoundResult:
    plans = plans_for_round(rng, round_no)
    if smoke:
        plans = [p for p in plans if p.name in ("deepseek", "native", "native-cancel", "expiring")]
        for plan in plans:
            plan.ids = plan.ids[: 400 if plan.cancel else 40]
            plan.failing = [i for i in plan.failing if i in plan.ids]
    _arrange_failures(cluster, plans)
    batch_ids: list[str] = []
    monkey = Monkey(cluster, rng, batch_ids)
    monkey.native_markers = [f"hello {i}" for p in plans if p.model == "local-model" for i in p.ids if not p.cancel]
    monkey.start()
    assert cluster.short is not None
    short = openai.OpenAI(base_url=cluster.short.base_url, api_key=TENANT_KEYS["alpha"], max_retries=0)  # type: ignore[attr-defined]
    try:
        late = [plan for plan in plans if plan.name.endswith("-late")]
        early = [plan for plan in plans if plan not in late]
        for plan in early:
            batch_ids.append(client.submit(plan, short))
        _kill_during_upload(cluster, rng, monkey)
        _cancel_when_running(client, rng, [p for p in plans if p.cancel])
        for plan in late:
            time.sleep(rng.uniform(0.2, 2.0))
            batch_ids.append(client.submit(plan, short))
        time.sleep(rng.uniform(2.0, 4.0) if smoke else rng.uniform(10.0, 20.0))
    finally:
        monkey.finish()
        short.close()
    if monkey.errors:
        raise monkey.errors[0]
    for proxy in cluster.proxies.values():  # armed proxy faults that a request actually hit
        for kind, _ in proxy.injected:
            monkey.injected[f"proxy {kind} delivered"] += 1
    started = time.monotonic()
    _heal(cluster)
    _wait_recovered(cluster, client)
    recovery = time.monotonic() - started
    findings = check_round(cluster, client.clients[0])
    cluster.note_deaths()  # a worker that dies by itself while the others recover is a finding too
    findings.unplanned_deaths = len(cluster.unplanned_deaths)
    findings.problems += [f"unplanned death: {death}" for death in cluster.unplanned_deaths]
    for plan in plans:
        status = client.call(functools.partial(_retrieve, batch_id=plan.batch_id or "")).status
        if status not in plan.expect:
            findings.problems.append(f"{plan.name} {plan.batch_id}: unexpected status {status}")
    return RoundResult(
        round_no=round_no,
        seed=seed,
        findings=findings,
        faults=dict(monkey.injected),
        missed_aims=dict(monkey.missed),
        restarts=cluster.restarts,
        client_retries=client.retries,
        recovery_seconds=round(recovery, 1),
        tmpfs=cluster.tmpfs,
    )


def _arrange_failures(cluster: ChaosCluster, plans: list[Plan]) -> None:
    failing = [i for plan in plans if plan.model != "local-model" for i in plan.failing]
    for upstream in (cluster.deepseek, cluster.deepinfra):
        upstream.store.options = msgspec.structs.replace(upstream.store.options, failed_custom_ids=failing)
    for plan in plans:
        if plan.model == "local-model":
            for custom_id in plan.failing:
                cluster.local.faults[f"hello {custom_id}"] = ["400"] * 5  # a client error: never retried


def _kill_during_upload(cluster: ChaosCluster, rng: random.Random, monkey: Monkey) -> None:
    """Stream a big upload into one replica and SIGKILL it mid-body; the client's retry goes elsewhere."""
    victim = rng.choice(cluster.apis)
    body = b"".join(b'{"custom_id": "u%d", "method": "POST"}\n' % i for i in range(20000))
    url = victim.base_url + "/files"  # type: ignore[attr-defined]
    headers = {"authorization": f"Bearer {TENANT_KEYS['alpha']}"}

    def upload() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(url, headers=headers, data={"purpose": "batch"}, files={"file": ("big.jsonl", _SlowFile(body))})

    thread = threading.Thread(target=upload, daemon=True)
    thread.start()
    time.sleep(rng.uniform(0.05, 0.3))
    monkey.injected["kill api @upload"] += 1
    cluster.bounce([victim], 0.2)
    thread.join(30)


def _cancel_when_running(client: Resilient, rng: random.Random, plans: list[Plan]) -> None:
    for plan in plans:
        assert plan.batch_id is not None
        retrieve = functools.partial(_retrieve, batch_id=plan.batch_id)
        deadline = time.monotonic() + 30
        while client.call(retrieve).status == "validating" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.8))
        with contextlib.suppress(openai.ConflictError, openai.BadRequestError):
            client.call(functools.partial(_cancel, batch_id=plan.batch_id))


def _retrieve(sdk: openai.OpenAI, batch_id: str) -> openai.types.Batch:
    return sdk.batches.retrieve(batch_id)


def _cancel(sdk: openai.OpenAI, batch_id: str) -> openai.types.Batch:
    return sdk.batches.cancel(batch_id)


def _heal(cluster: ChaosCluster) -> None:
    """Stop injecting: no pending upstream faults, no full disk, every process running again."""
    for upstream in (cluster.deepseek, cluster.deepinfra):
        upstream.faults.clear()
    for proxy in cluster.proxies.values():
        proxy.clear()
    cluster.local.faults.clear()
    (cluster.storage_dir / ".chaos-disk-filler").unlink(missing_ok=True)
    # The monkey restarts what it kills; a process found dead here exited by itself (a crash, a loop that
    # gave up): recorded as a finding, which fails the run, then restarted so the invariants can be checked.
    for process in cluster.note_deaths():
        cluster.restart(process)


def _wait_recovered(cluster: ChaosCluster, client: Resilient) -> None:
    """Every batch terminal and the work schedule empty (each closed: settled, cleaned up), within a bound."""
    deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
    redis_client = redis.Redis(port=cluster.redis.port)
    try:
        while time.monotonic() < deadline:
            statuses = Counter(b.status for b in client.call(lambda sdk: list(sdk.batches.list(limit=100))))
            if set(statuses) <= TERMINAL and redis_client.zcard(keys.work_due()) == 0:
                return
            time.sleep(0.5)
    finally:
        redis_client.close()
