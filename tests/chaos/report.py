"""The closing summary of a chaos run: a plain-text table that pastes into a note as is."""

from __future__ import annotations

from collections import Counter

from tests.chaos.round import RoundResult

__all__ = ["summary_table"]


def summary_table(results: list[RoundResult]) -> str:
    faults: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for result in results:
        faults.update(result.faults)
        missed.update(result.missed_aims)
        statuses.update(result.findings.statuses)
    f = [r.findings for r in results]
    rows = [
        ("seed", results[0].seed if results else "-"),
        ("rounds", str(len(results))),
        ("batches", f"{sum(x.batches for x in f)} ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})"),
        ("faults injected", str(sum(faults.values()))),
        *((f"  {kind}", str(count)) for kind, count in sorted(faults.items())),
        ("aims not reached", ", ".join(f"{k} {v}" for k, v in sorted(missed.items())) or "none"),
        ("recoveries (process restarts)", str(sum(r.restarts for r in results))),
        ("unplanned process deaths", str(sum(x.unplanned_deaths for x in f))),
        ("client retries (replica down / 5xx)", str(sum(r.client_retries for r in results))),
        ("max recovery to all-terminal+closed", f"{max((r.recovery_seconds for r in results), default=0)} s"),
        ("disk full on tmpfs", "yes" if all(r.tmpfs for r in results) else "SKIPPED (not root / no mount)"),
        ("data lost (custom_ids missing)", str(sum(x.lost for x in f))),
        ("duplicates (custom_ids + upstream batches)", str(sum(x.duplicates for x in f))),
        ("foreign custom_ids", str(sum(x.foreign for x in f))),
        ("unsettled / settled twice", f"{sum(x.unsettled for x in f)} / {sum(x.settled_twice for x in f)}"),
        (
            "ledger / summary mismatches",
            f"{sum(x.ledger_mismatches for x in f)} / {sum(x.summary_mismatches for x in f)}",
        ),
        ("orphan storage objects", str(sum(x.orphan_files for x in f))),
        ("partial writes left (.part)", str(sum(x.partial_writes for x in f))),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["chaos summary", "-" * (width + 30)]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    for result in results:
        lines += [f"round {result.round_no}: {problem}" for problem in result.findings.problems]
    return "\n".join(lines)
