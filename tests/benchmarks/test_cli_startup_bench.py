"""How fast the user's CLI starts and validates, measured as processes (run with `make bench`).

Targets (issue #18): `batchgate --help` and `batchgate validate` of a one-line file <= 150 ms wall, shown
beside `python -c pass`; `batchgate validate` of a 150 MB, 50,000-line chat file at >= 0.8x the throughput
of a plain `python` process decoding it line by line with msgspec. Runs are interleaved and the best of
each is kept, the fairest figure on a shared machine; speed figures are printed with MET / MISSED, not
asserted (they depend on the machine and its load). What the commands import is asserted in the default
suite (tests/unit/test_cli_startup.py).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.chat_files import write_chat_file

pytestmark = pytest.mark.benchmark

REPS = int(os.environ.get("BENCH_REPS", "15"))
BIG_REPS = int(os.environ.get("BENCH_BIG_REPS", "5"))
BIG_LINES = 50_000
BIG_BYTES = 150 * 2**20
ENDPOINT = "/v1/chat/completions"
PYTHON = sys.executable
# The console script pip writes: `from gateway.cli.commands import main; sys.exit(main())`, no importlib.metadata.
BATCHGATE = str(Path(sys.executable).with_name("batchgate"))
LINE = (
    b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions",'
    b'"body":{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}}\n'
)
CONFIG = '[providers.deepseek]\nkind = "openai_batch"\nbase_url = "https://api.deepseek.com/v1"\n\n'
CONFIG += '[[models]]\nname = "deepseek-chat"\nprovider = "deepseek"\n'
PLAIN_DECODE = """
import sys
import msgspec

decode = msgspec.json.Decoder().decode
with open(sys.argv[1], "rb") as file:
    for line in file:
        decode(line)
"""
# The environment the user has: no coverage hook, no config unless the command names one.
ENV = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_")} | {"BATCHGATE_CONFIG": ""}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process; CPU time suffers less from a loaded machine."""
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start, _cpu() - cpu


def _rounds(commands: dict[str, list[str]], reps: int) -> dict[str, list[tuple[float, float]]]:
    """Each command `reps` times, interleaved so that a burst of load hits them all alike."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(reps):
        for name, argv in commands.items():
            times[name].append(_run(argv))
    return times


def _load() -> str:
    return "load average " + " ".join(f"{value:.1f}" for value in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def _verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def test_start_up_of_help_and_validate(tmp_path: Path) -> None:
    one_line, config = tmp_path / "one.jsonl", tmp_path / "batchgate.toml"
    one_line.write_bytes(LINE)
    config.write_text(CONFIG)
    validate = [BATCHGATE, "validate", str(one_line), "--endpoint", ENDPOINT]
    commands = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "batchgate --help": [BATCHGATE, "--help"],
        "batchgate validate (1 line)": validate,
        "  same, with --config": [*validate, "--config", str(config)],
        "  --help without the script": [PYTHON, "-c", "from gateway.cli.commands import main; main()", "--help"],
        "batchgate files --help": [BATCHGATE, "files", "--help"],
    }
    times = _rounds(commands, REPS)
    base = min(wall for wall, _ in times["python -c pass"])
    print(f"\nstart-up, best (median) of {REPS} interleaved runs, {_load()}:")
    print(f"  {'':30s} {'wall ms':>16s} {'over python':>12s} {'cpu ms':>16s}")
    for name, runs in times.items():
        walls, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
        best = min(walls)
        target = ""
        if name in ("batchgate --help", "batchgate validate (1 line)"):
            target = f"  target <= 150 ms wall: {_verdict(best <= 0.150)}"
        print(
            f"  {name:30s} {best * 1000:6.1f} ({statistics.median(walls) * 1000:6.1f}) {(best - base) * 1000:+12.1f}"
            f" {min(cpus) * 1000:6.1f} ({statistics.median(cpus) * 1000:6.1f}){target}"
        )


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-bench") / "chat.jsonl"
    write_chat_file(path, lines=BIG_LINES, size=BIG_BYTES)
    return path


def test_validate_throughput_against_a_plain_decode(big_file: Path) -> None:
    commands = {
        "plain python + msgspec decode": [PYTHON, "-c", PLAIN_DECODE, str(big_file)],
        "batchgate validate": [BATCHGATE, "validate", str(big_file), "--endpoint", ENDPOINT],
    }
    _run(commands["batchgate validate"])  # warm the page cache and check the file is valid (exit 0)
    times = _rounds(commands, BIG_REPS)
    size_mb = big_file.stat().st_size / 1e6
    best = {name: min(wall for wall, _ in runs) for name, runs in times.items()}
    ratio = best["plain python + msgspec decode"] / best["batchgate validate"]
    print(f"\n{size_mb:.0f} MB, {BIG_LINES} lines, best of {BIG_REPS} interleaved process runs, {_load()}:")
    cpu = {name: min(seconds for _, seconds in runs) for name, runs in times.items()}
    cpu_ratio = cpu["plain python + msgspec decode"] / cpu["batchgate validate"]
    for name, wall in best.items():
        print(f"  {name:30s} {wall:6.3f} s wall  {size_mb / wall:6.0f} MB/s  ({cpu[name]:.3f} s cpu)")
    print(f"  throughput ratio {ratio:.2f} wall (target >= 0.8: {_verdict(ratio >= 0.8)}), {cpu_ratio:.2f} cpu")
