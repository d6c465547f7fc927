"""BatchStore: batch records, their indexes and lifecycle in Redis.

Layout (keys from `gateway.redis.keys`): every key here (records, event streams, tenant lists, in-flight sets,
status and expiry indexes) carries the hash tag `{batches}`, so each script below runs in one Redis Cluster
slot and names every key it touches in KEYS[]. The transition script moves a batch between the global
status/expiry indexes in the same atomic step as its record and event. The price on Cluster: all batch
metadata lives on one node; it is small and written a few times per batch, while the per-line traffic
(executor, results) is spread over per-batch tags.

Admission: `create` runs as one Lua script that also keeps the tenant's in-flight set (record keys of batches
admitted and not yet seen terminal) and refuses a batch past the tenant's limit. Members are pruned lazily at
admission, only when the set is full: the script then asks for the members, and a second call declares them
as keys and drops those seen terminal. Terminal is forever, so the count never undercounts; a member turning
terminal between the two calls only makes a refusal that a retry admits.

Fencing and sealing (see `lua.py`, `fencing.py`): inside a worker step every write carries the step's claim
token and raises `LeaseLostError` once a newer claim adopted the batch; `seal` fixes the terminal outcome
before the ledger is settled and the status turns terminal.

Refusal: `transition` raises `IllegalTransitionError` (carrying the current status) when the table forbids the
move and returns None only for an unknown batch; `update` returns None for both (callers re-read if needed).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping
from typing import Any, cast

import structlog

from gateway.batches import lua
from gateway.batches.events import BatchEvent, decode_events
from gateway.batches.fencing import LeaseLostError, token_for
from gateway.batches.lua import STATUS_ORDER
from gateway.batches.records import BatchRecord, decode_hash, encode_hash, encode_updates
from gateway.batches.schedule import Claim
from gateway.batches.status import TERMINAL, BatchStatus
from gateway.core.redis_types import RedisClient
from gateway.redis import keys

__all__ = ["NON_TERMINAL", "BatchStore", "IllegalTransitionError", "TooManyBatchesInFlightError"]

_log = structlog.get_logger("batchgate.batches")

NON_TERMINAL: frozenset[BatchStatus] = frozenset(BatchStatus) - TERMINAL
_EMPTY: Mapping[str, object] = {}
_FULL = -1  # the create script's reply when the in-flight set is full and its members were not declared
_FENCED_OUT = 3  # the scripts' reply when a newer claim than the caller's adopted the batch


class IllegalTransitionError(Exception):
    """The batch's current status cannot move to the requested one (or is not among `only_from`)."""

    def __init__(self, batch_id: str, current: BatchStatus, to: BatchStatus) -> None:
        super().__init__(f"batch {batch_id} cannot go from {current.value} to {to.value}")
        self.batch_id = batch_id
        self.current = current
        self.to = to


class TooManyBatchesInFlightError(Exception):
    """The tenant already has its limit of non-terminal batches; nothing was written."""

    def __init__(self, tenant: str, limit: int) -> None:
        super().__init__(f"tenant {tenant} already has {limit} batches in flight")
        self.tenant = tenant
        self.limit = limit


class BatchStore:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def create(self, record: BatchRecord, *, max_in_flight: int | None = None) -> None:
        """Store a new record with its tenant, status, expiry and in-flight index entries and a `created` event.

        With `max_in_flight`, raises TooManyBatchesInFlightError (writing nothing) when the tenant already has
        that many non-terminal batches. Ids are never reused (`gateway.core.ids`), so this does not check for an
        existing record."""
        expires_at = record.expires_at if record.expires_at is not None else ""
        limit = max_in_flight or 0
        script_keys = [
            keys.batch_record(record.id),
            keys.batch_index(record.tenant),
            keys.batches_by_status(record.status.value),
            keys.batches_by_expiry(),
            keys.batch_events(record.id),
            keys.batches_in_flight(record.tenant),
        ]
        args = [record.id, limit, record.status.value, record.created_at, expires_at, *_flatten(encode_hash(record))]
        admitted = await lua.CREATE(self._redis, keys=script_keys, args=args)
        if admitted == _FULL:  # prune: declare the in-flight records, so the script may read them
            members = await self._redis.smembers(keys.batches_in_flight(record.tenant))
            admitted = await lua.CREATE(self._redis, keys=[*script_keys, *members], args=args)
        if admitted != 1:
            raise TooManyBatchesInFlightError(record.tenant, limit)

    async def get(self, batch_id: str, *, tenant: str | None) -> BatchRecord | None:
        """The record, or None when unknown or owned by another tenant (`tenant=None`: any tenant)."""
        fields = cast(dict[bytes, bytes], await self._redis.hgetall(keys.batch_record(batch_id)))
        if not fields:
            return None
        record = decode_hash(fields)
        return None if tenant is not None and record.tenant != tenant else record

    async def list(self, tenant: str, *, after: str | None = None, limit: int = 20) -> tuple[list[BatchRecord], bool]:
        """A page of the tenant's batches, newest first, strictly older than `after`; and whether more exist."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        top = f"({after}" if after else "+"
        reply = await self._redis.zrevrangebylex(keys.batch_index(tenant), top, "-", start=0, num=limit + 1)
        ids = cast(builtins.list[bytes], reply)
        async with self._redis.pipeline(transaction=False) as pipe:
            for batch_id in ids[:limit]:
                pipe.hgetall(keys.batch_record(batch_id.decode()))
            replies = await pipe.execute()
        return [decode_hash(fields) for fields in replies if fields], len(ids) > limit

    async def transition(
        self,
        batch_id: str,
        to: BatchStatus,
        *,
        cause: str,
        now: int,
        updates: Mapping[str, object] = _EMPTY,
        only_from: Collection[BatchStatus] | None = None,
    ) -> BatchRecord | None:
        """Move the batch to `to` (stamping `<to>_at = now`) and apply `updates`, atomically, if the table allows.

        Returns the new record, None for an unknown batch; raises IllegalTransitionError when refused.
        """
        pairs = _flatten(encode_updates(updates))
        allowed = ",".join(s.value for s in only_from) if only_from is not None else ""
        if only_from is not None and not allowed:
            allowed = ","  # an empty `only_from` refuses everything, unlike "no restriction"
        script_keys = [keys.batch_record(batch_id), keys.batch_events(batch_id), keys.batches_by_expiry()]
        script_keys += [keys.batches_by_status(s.value) for s in STATUS_ORDER]
        args = [batch_id, to.value, now, cause, allowed, token_for(batch_id), *pairs]
        reply = await lua.TRANSITION(self._redis, keys=script_keys, args=args)
        record = _record_or_raise(reply, batch_id, to)
        if record is not None:  # one log line per state transition, like the event stream
            _log.info("batch_transition", batch_id=batch_id, tenant=record.tenant, status=to.value, cause=cause)
        return record

    async def update(
        self,
        batch_id: str,
        updates: Mapping[str, object],
        *,
        only_if_status_in: Collection[BatchStatus] = NON_TERMINAL,
    ) -> BatchRecord | None:
        """Set fields without a status change, atomically, unless the batch is terminal or outside
        `only_if_status_in`. Returns the new record, or None when unknown or refused."""
        pairs = _flatten(encode_updates(updates))
        if not pairs:
            raise ValueError("update needs at least one field")
        allowed = ",".join(s.value for s in only_if_status_in) or ","
        reply = await lua.UPDATE(
            self._redis, keys=[keys.batch_record(batch_id)], args=[allowed, token_for(batch_id), *pairs]
        )
        _raise_if_fenced_out(reply, batch_id)
        return decode_hash(_pairs_to_dict(reply[1])) if reply[0] == 2 else None

    async def adopt(self, claim: Claim) -> BatchRecord | None:
        """Mark the batch as worked by `claim` (its token becomes the record's fence) and return the record;
        None when unknown. Raises LeaseLostError when a newer claim already adopted it."""
        reply = await lua.ADOPT(self._redis, keys=[keys.batch_record(claim.batch_id)], args=[claim.token])
        _raise_if_fenced_out(reply, claim.batch_id)
        return decode_hash(_pairs_to_dict(reply[1])) if reply[0] == 2 else None

    async def check_fence(self, claim: Claim) -> None:
        """Raise LeaseLostError unless `claim` is still the batch's latest adopted claim (one GET-like read)."""
        held = await self._redis.hget(keys.batch_record(claim.batch_id), "fence_token")
        if held is None or int(held) != claim.token:
            raise LeaseLostError(claim.batch_id, "a newer claim adopted it")

    async def seal(
        self, batch_id: str, to: BatchStatus, *, now: int, updates: Mapping[str, object] = _EMPTY
    ) -> BatchRecord | None:
        """Fix the batch's terminal outcome `to` (stamped `now`) and its final `updates`, without changing its
        status. Returns the sealed record — sealed earlier, it keeps that seal and ignores these arguments —
        or None when unknown, already terminal, or the table forbids `to` from its status."""
        if to not in TERMINAL:
            raise ValueError(f"only a terminal status can be sealed, not {to.value}")
        args = [to.value, now, token_for(batch_id), *_flatten(encode_updates(updates))]
        reply = await lua.SEAL(self._redis, keys=[keys.batch_record(batch_id)], args=args)
        _raise_if_fenced_out(reply, batch_id)
        return decode_hash(_pairs_to_dict(reply[1])) if reply[0] == 2 else None

    async def events(self, batch_id: str) -> builtins.list[BatchEvent]:
        """The batch's transitions, oldest first (the first is its creation)."""
        entries = await self._redis.xrange(keys.batch_events(batch_id))
        return decode_events(cast(builtins.list[tuple[bytes, dict[bytes, bytes]]], entries))

    async def count_by_status(self) -> dict[BatchStatus, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for status in STATUS_ORDER:
                pipe.zcard(keys.batches_by_status(status.value))
            counts = await pipe.execute()
        return dict(zip(STATUS_ORDER, counts, strict=True))

    async def oldest_by_status(self) -> dict[BatchStatus, int | None]:
        """For each non-terminal status, when (unix s) its oldest batch entered it; None when it has none."""
        statuses = sorted(NON_TERMINAL, key=STATUS_ORDER.index)
        async with self._redis.pipeline(transaction=False) as pipe:
            for status in statuses:
                pipe.zrange(keys.batches_by_status(status.value), 0, 0, withscores=True)
            replies = await pipe.execute()
        return {status: int(reply[0][1]) if reply else None for status, reply in zip(statuses, replies, strict=True)}

    async def in_status(self, status: BatchStatus, *, entered_before: int, limit: int) -> builtins.list[str]:
        """Ids that entered `status` at or before `entered_before` (unix s), oldest first: for stuck-batch sweeps."""
        reply = await self._redis.zrangebyscore(keys.batches_by_status(status.value), "-inf", entered_before, 0, limit)
        return _decode_ids(reply)

    async def expired_candidates(self, now: int, limit: int) -> builtins.list[str]:
        """Non-terminal batches whose `expires_at` is at or before `now`, soonest first."""
        return _decode_ids(await self._redis.zrangebyscore(keys.batches_by_expiry(), "-inf", now, 0, limit))


def _decode_ids(reply: object) -> builtins.list[str]:
    return [batch_id.decode() for batch_id in cast(builtins.list[bytes], reply)]


def _flatten(fields: Mapping[str, bytes]) -> builtins.list[str | bytes]:
    return [item for name, value in fields.items() for item in (name, value)]


def _pairs_to_dict(flat: builtins.list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _raise_if_fenced_out(reply: builtins.list[Any], batch_id: str) -> None:
    if reply[0] == _FENCED_OUT:
        raise LeaseLostError(batch_id, "a newer claim adopted it")


def _record_or_raise(reply: builtins.list[Any], batch_id: str, to: BatchStatus) -> BatchRecord | None:
    _raise_if_fenced_out(reply, batch_id)
    if reply[0] == 0:
        return None
    if reply[0] == 1:
        raise IllegalTransitionError(batch_id, BatchStatus(reply[1].decode()), to)
    return decode_hash(_pairs_to_dict(reply[1]))
