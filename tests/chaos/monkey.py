"""The chaos monkey: a thread that injects seeded faults while a round's batches run.

Process kills are *aimed*: the monkey polls the batch records in Redis every few milliseconds and fires a
kill when some batch is in the phase it aims at (validating, submitting upstream, polling, native
execution, finalizing/merging, between terminal and settled). Other faults fire at seeded offsets: Redis
SIGKILL + restart (AOF) after a blip or a 15-22 s outage (longer than redis-py's retries), upstream 5xx
storms, hangs (client timeouts), connection resets, malformed bodies, truncated result downloads, failing
real-time requests, and 'disk full' on the storage tmpfs.
What the seed fixes is the plan (kinds, order, offsets, dice); what the clock does is not reproducible.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from pathlib import Path

import redis

from accounting import keys as ledger_keys
from gateway.redis import keys
from tests.chaos.cluster import ChaosCluster
from tests.support.batch_upstream import Fault
from tests.support.processes import BatchgateProcess

__all__ = ["AIMED_PHASES", "Monkey", "disk_full"]

AIMED_PHASES = ("validating", "submitting", "polling", "executing", "finalizing", "settling")
TIMED_FAULTS = (
    "redis_kill", "redis_long_outage", "upstream_5xx_storm", "upstream_timeout", "upstream_reset", "upstream_malformed",
    "truncated_results", "realtime_faults", "disk_full", "api_kill",
)  # fmt: skip
_COOLDOWN_SECONDS = 0.8


class Monkey(threading.Thread):
    def __init__(self, cluster: ChaosCluster, rng: random.Random, batch_ids: list[str]) -> None:
        super().__init__(name="chaos-monkey", daemon=True)
        self.cluster, self.rng, self.batch_ids = cluster, rng, batch_ids
        self.injected: Counter[str] = Counter()
        self.missed: Counter[str] = Counter()
        self.stop_event = threading.Event()
        self.aims = [p for p in AIMED_PHASES if rng.random() < 0.85]
        timed = [k for k in TIMED_FAULTS if rng.random() < 0.8]
        self.timed = sorted((rng.uniform(0.5, 14.0), kind) for kind in timed)
        self.errors: list[BaseException] = []
        self.native_markers: list[str] = []  # real-time request markers of native lines, set by the round
        self.restarts: list[threading.Timer] = []  # Redis restarts still to come

    def run(self) -> None:
        client = redis.Redis(port=self.cluster.redis.port, socket_timeout=1, socket_connect_timeout=0.5)
        started = time.monotonic()
        last_kill = 0.0
        try:
            while not self.stop_event.is_set() and (self.aims or self.timed):
                elapsed = time.monotonic() - started
                if self.timed and elapsed >= self.timed[0][0]:
                    self._timed(self.timed.pop(0)[1])
                    continue
                if self.aims and time.monotonic() - last_kill > _COOLDOWN_SECONDS:
                    phase = self._aimed_phase(client)
                    if phase is not None and self.rng.random() < 0.5:  # a random point within the phase
                        self._kill_workers(phase)
                        last_kill = time.monotonic()
                if elapsed > 40:
                    self.missed.update(self.aims)
                    self.aims = []
                time.sleep(0.01)
        except BaseException as exc:  # surfaced by the test after join()
            self.errors.append(exc)
        finally:
            client.close()

    def _aimed_phase(self, client: redis.Redis) -> str | None:
        try:
            phases = {_phase(client, batch_id) for batch_id in list(self.batch_ids)}
        except redis.RedisError:
            return None
        return next((aim for aim in self.aims if aim in phases), None)

    def _kill_workers(self, phase: str) -> None:
        victims = [w for w in self.cluster.workers if self.rng.random() < 0.7] or [self.cluster.workers[0]]
        self.aims.remove(phase)
        self.injected[f"kill worker @{phase}"] += len(victims)
        self.cluster.bounce(victims, self.rng.uniform(0.1, 1.0))

    def _timed(self, kind: str) -> None:
        cluster, rng = self.cluster, self.rng
        self.injected[kind] += 1
        upstream = rng.choice([cluster.deepseek, cluster.deepinfra])
        proxy = cluster.proxies["deepseek" if upstream is cluster.deepseek else "deepinfra"]
        if kind in ("redis_kill", "redis_long_outage") and any(r.is_alive() for r in self.restarts):
            self.injected[kind] -= 1  # Redis is already down for a while: one outage at a time
        elif kind == "redis_kill":
            cluster.redis.kill()
            time.sleep(rng.uniform(0.3, 2.0))
            cluster.redis.start()
        elif kind == "redis_long_outage":
            # Longer than redis-py's own retries (what once killed the claim loop). Restarted from a timer, so
            # the monkey keeps aiming its kills meanwhile; `finish` waits for it.
            cluster.redis.kill()
            restart = threading.Timer(rng.uniform(15.0, 22.0), cluster.redis.start)
            restart.start()
            self.restarts.append(restart)
        elif kind == "upstream_5xx_storm":
            for route in ("retrieve", "create", "upload", "content", "list_batches"):
                upstream.add_fault(Fault(route=route, count=rng.randint(2, 6), status=rng.choice([500, 502, 503])))
            upstream.add_fault(Fault(route="create", after_commit=True))
        elif kind == "upstream_timeout":
            upstream.add_fault(Fault(route=rng.choice(["retrieve", "create", "content"]), hang_seconds=3.0))
        elif kind == "upstream_reset":
            for pattern in ("GET /v1/batches/", "POST /v1/batches$", "POST /v1/files", "/content$"):
                proxy.add("reset", pattern)
        elif kind == "upstream_malformed":
            proxy.add("malformed", rng.choice(["GET /v1/batches/", "POST /v1/batches$", "GET /v1/batches$"]))
        elif kind == "truncated_results":
            proxy.add("truncate", "/content$")
        elif kind == "realtime_faults":
            self._realtime_faults()
        elif kind == "disk_full":
            disk_full(cluster.storage_dir, rng.uniform(1.0, 3.0), enabled=cluster.tmpfs)
            if not cluster.tmpfs:
                self.injected[kind] -= 1
        elif kind == "api_kill":
            self._kill_api(rng.choice(cluster.apis))

    def _realtime_faults(self) -> None:
        """Lines of the native batches answer a transient error, a hang or a non-JSON 200 on their next send."""
        local = self.cluster.local
        for marker in self.rng.sample(self.native_markers, min(40, len(self.native_markers))):
            local.faults.setdefault(marker, []).append(self.rng.choice(["500", "503", "hang", "malformed"]))

    def _kill_api(self, api: BatchgateProcess) -> None:
        self.cluster.bounce([api], self.rng.uniform(0.2, 1.0))

    def finish(self) -> None:
        self.stop_event.set()
        self.join(60)
        for restart in self.restarts:
            restart.join()
        self.missed.update(self.aims)


def _phase(client: redis.Redis, batch_id: str) -> str | None:
    raw_status, state, provider = client.hmget(keys.batch_record(batch_id), ["status", "provider_state", "provider"])
    status = raw_status.decode() if isinstance(raw_status, bytes) else raw_status
    if status == "validating":
        return "validating"
    if status == "in_progress":
        if provider and b"local" in provider:
            return "executing"
        return "submitting" if not state or state in (b'""', b"null") else "polling"
    if status in ("finalizing", "cancelling"):
        return "finalizing"
    if status in ("completed", "failed", "expired", "cancelled") and not client.exists(ledger_keys.record(batch_id)):
        return "settling"
    return None


def disk_full(storage: Path, seconds: float, *, enabled: bool) -> None:
    """Fill the storage tmpfs to the last byte, hold it for `seconds`, free it again."""
    if not enabled:
        return
    filler = storage / ".chaos-disk-filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 20, 4096, 1):  # down to the last byte
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * size)
    time.sleep(seconds)
    filler.unlink()
