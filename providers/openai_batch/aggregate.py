"""From upstream batches (one per shard) to one gateway outcome.

Rules, in order, once every shard has ended (before that: `Running`, `cancelling` when a cancel was asked,
`finalizing` when every unfinished shard is finalizing, else `in_progress`):

1. every shard `failed` (upstream validation) → `failed`, with all shards' errors;
2. a cancel was asked and some shard ended `cancelled` → `cancelled`;
3. some shard `expired` → `expired` (finished results kept, the rest never ran);
4. some shard `cancelled` without our asking (someone cancelled it upstream) → `cancelled`;
5. otherwise → `completed`.

When only some shards failed, the others' results stand: the outcome follows rules 2-5, the failed shards'
errors are reported, and their requests come back as error lines (see `fetch_results`) and count as failed.
Upstream error lines are 1-based within a shard; reported lines are 1-based within the gateway's file.
"""

from __future__ import annotations

from typing import Literal

from providers.base import BatchError, Finished, PollOutcome, Progress, Running
from providers.openai_batch.state import Shard, State
from providers.openai_batch.wire import BatchView

__all__ = ["apply_view", "outcome"]


def apply_view(shard: Shard, view: BatchView) -> None:
    shard.status = view.status
    if view.request_counts is not None:
        shard.completed, shard.failed = view.request_counts.completed, view.request_counts.failed
    shard.output_file_id, shard.error_file_id = view.output_file_id, view.error_file_id
    if view.errors is not None:
        shard.errors = [
            (
                e.code or "upstream_error",
                e.message or "",
                e.param,
                None if e.line is None else e.line + shard.first_line,
            )
            for e in view.errors.data
        ]


def outcome(state: State) -> PollOutcome:
    shards = state.shards
    if not all(shard.terminal for shard in shards):
        return Running(progress=_progress(shards, mixed=False), status=_running_status(state))
    statuses = {shard.status for shard in shards}
    errors = tuple(BatchError(code=c, message=m, param=p, line=n) for s in shards for (c, m, p, n) in s.errors)
    if statuses == {"failed"}:
        return Finished(outcome="failed", progress=_progress(shards, mixed=False), errors=errors)
    progress = _progress(shards, mixed=True)
    if "cancelled" in statuses and state.cancel_requested:
        return Finished(outcome="cancelled", progress=progress, errors=errors)
    if "expired" in statuses:
        return Finished(outcome="expired", progress=progress, errors=errors)
    if "cancelled" in statuses:
        return Finished(outcome="cancelled", progress=progress, errors=errors)
    return Finished(outcome="completed", progress=progress, errors=errors)


def _running_status(state: State) -> Literal["in_progress", "finalizing", "cancelling"]:
    if state.cancel_requested:
        return "cancelling"
    running = {shard.status for shard in state.shards if not shard.terminal}
    return "finalizing" if running == {"finalizing"} else "in_progress"


def _progress(shards: list[Shard], *, mixed: bool) -> Progress:
    """Counts summed; with `mixed`, a failed shard's requests count as failed (they get error lines)."""
    failed_shards = sum(shard.requests for shard in shards if shard.status == "failed") if mixed else 0
    return Progress(
        total=sum(shard.requests for shard in shards),
        completed=sum(shard.completed for shard in shards),
        failed=sum(shard.failed for shard in shards) + failed_shards,
    )
