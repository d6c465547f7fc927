"""Validation throughput and memory on OpenAI-sized files (run with `make bench`).

Targets: the full validator at >= 0.8x the MB/s of a bare `msgspec.json.Decoder().decode` loop over the
same lines (pre-split, in the same run); <= 1.5 s wall for a 200 MB file read from disk; peak RSS growth
<= 64 MB (measured in a fresh subprocess from VmHWM). Only the memory bound is asserted: the speed
figures depend on the machine and its load, so they are printed with MET / MISSED beside the targets.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from gateway.validation import CHUNK_BYTES, validate_chunks, validate_file
from tests.support.chat_files import write_chat_file

pytestmark = pytest.mark.benchmark

LINES = 50_000
REPS = int(os.environ.get("BENCH_REPS", "7"))  # a rep of both loops takes well under a second
TARGET_BYTES = 200 * 1024 * 1024 - 64 * 1024


def _write_embeddings(path: Path) -> None:
    rng = random.Random(11)
    arrays = [msgspec.json.encode([rng.randrange(100_000) for _ in range(rng.randint(500, 850))]) for _ in range(500)]
    with path.open("wb") as file:
        for index in range(LINES):
            file.write(
                b'{"custom_id":"e-%d","method":"POST","url":"/v1/embeddings","body":{"model":"bge-m3","input":%s}}\n'
                % (index, rng.choice(arrays))
            )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("validation-bench")
    chat, embeddings = root / "chat.jsonl", root / "embeddings.jsonl"
    write_chat_file(chat, lines=LINES, size=TARGET_BYTES)
    _write_embeddings(embeddings)
    return {"/v1/chat/completions": chat, "/v1/embeddings": embeddings}


def _best(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


_RSS_SCRIPT = """
import sys
from pathlib import Path
from gateway.validation import validate_file

def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
before = hwm()
report = validate_file(Path(sys.argv[1]), sys.argv[2])
assert report.valid, report.errors[:3]
print(hwm() - before)
"""


def _rss_growth(path: Path, endpoint: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(path), endpoint], capture_output=True, check=True, text=True
    )
    return int(done.stdout.strip())


def _verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


@pytest.mark.parametrize("endpoint", ["/v1/chat/completions", "/v1/embeddings"])
def test_validation_throughput_and_memory(files: dict[str, Path], endpoint: str) -> None:
    path = files[endpoint]
    data = path.read_bytes()
    size_mb = len(data) / 1e6
    lines = data.split(b"\n")[:-1]
    chunks = [data[index : index + CHUNK_BYTES] for index in range(0, len(data), CHUNK_BYTES)]
    decoder = msgspec.json.Decoder()

    def raw() -> None:
        for line in lines:
            decoder.decode(line)

    report = validate_chunks(chunks, endpoint)
    assert report.valid, report.errors[:3]
    assert report.requests == LINES
    raw_s = validator_s = wall_s = float("inf")
    for _ in range(REPS):  # interleaved, best of each: the fairest figure on a shared machine
        raw_s = min(raw_s, _best(1, raw))
        validator_s = min(validator_s, _best(1, lambda: validate_chunks(chunks, endpoint)))
        wall_s = min(wall_s, _best(1, lambda: validate_file(path, endpoint)))
    growth = _rss_growth(path, endpoint)
    ratio = raw_s / validator_s
    print(
        f"\n{endpoint}: {size_mb:.1f} MB, {LINES} lines\n"
        f"  raw msgspec decode loop : {size_mb / raw_s:8.0f} MB/s ({raw_s:.3f} s)\n"
        f"  validator (in memory)   : {size_mb / validator_s:8.0f} MB/s ({validator_s:.3f} s)"
        f"  ratio {ratio:.2f} (target >= 0.8: {_verdict(ratio >= 0.8)})\n"
        f"  validate_file from disk : {wall_s:.3f} s (target <= 1.5 s for 200 MB: {_verdict(wall_s <= 1.5)})\n"
        f"  peak RSS growth         : {growth / 2**20:.1f} MiB (bound 64 MiB)"
    )
    assert growth <= 64 * 2**20
