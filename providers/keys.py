"""Every Redis key of the providers package, in one place. Nothing else formats a key string.

The project's one prefix (`gateway.core.keyspace`). Per-batch keys carry the batch id as their hash tag, so one Lua
script may touch all of a batch's keys on Redis Cluster. Keys shared by all batches of one native
provider (its chunk stream, enqueue markers, rate-limit state) carry the provider name as their tag.
"""

from __future__ import annotations

from gateway.core.keyspace import PREFIX

__all__ = [
    "NATIVE_GROUP",
    "PREFIX",
    "native_attempts",
    "native_backlog",
    "native_enqueued",
    "native_meta",
    "native_rate",
    "native_results",
    "native_stream",
]


# The consumer group every worker of a native provider reads chunks through.
NATIVE_GROUP = "workers"


def native_stream(provider: str) -> str:
    """Stream of chunk entries (`batch_id`, `endpoint`, `key`, `lines`) waiting to be executed."""
    return f"{PREFIX}native:{{{provider}}}:chunks"


def native_enqueued(provider: str) -> str:
    """Hash batch_id -> chunk count, set in the same script as the batch's XADDs (the enqueue marker)."""
    return f"{PREFIX}native:{{{provider}}}:enqueued"


def native_backlog(provider: str, batch_id: str) -> str:
    """List of a batch's chunks not yet on the stream (chunk key, line count, repeated), in order. Tagged
    with the provider, like the stream, so one script moves a chunk from here to there."""
    return f"{PREFIX}native:{{{provider}}}:backlog:{batch_id}"


def native_rate(provider: str, kind: str) -> str:
    """GCRA theoretical arrival time (server seconds) of a rate limit; `kind` is `rpm` or `tpm`."""
    return f"{PREFIX}native:{{{provider}}}:rate:{kind}"


def native_meta(batch_id: str) -> str:
    """Hash: total, expires_at, counters (completed, failed, inflight, lost), cancelled_at, closed."""
    return f"{PREFIX}native:{{{batch_id}}}:meta"


def native_results(batch_id: str) -> str:
    """Hash custom_id -> the line's encoded output/error line, written once."""
    return f"{PREFIX}native:{{{batch_id}}}:results"


def native_attempts(batch_id: str) -> str:
    """Hash custom_id -> attempts granted so far, across all workers and restarts."""
    return f"{PREFIX}native:{{{batch_id}}}:attempts"
