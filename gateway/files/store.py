"""File records in Redis: one msgspec-encoded record per file, per-tenant indexes ordered by id.

Ids sort by creation time (`gateway.core.ids`), so each index is a sorted set with all scores 0 read with
ZRANGE … BYLEX: `after` pages are exact for any id ever issued, including deleted ones.

Every key here carries the hash tag `{files}` (`gateway.redis.keys`), so the create and delete transactions and
the MGET of a page run in one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

import msgspec

from gateway.core.redis_types import RedisClient
from gateway.files.records import FileRecord
from gateway.redis import keys

__all__ = ["FileStore"]

_decode = msgspec.json.Decoder(FileRecord).decode
_encode = msgspec.json.Encoder().encode


class FileStore:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def create(self, record: FileRecord) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.file_record(record.id), _encode(record))
            pipe.zadd(keys.file_index(record.tenant), {record.id: 0})
            pipe.zadd(keys.file_index(record.tenant, record.purpose), {record.id: 0})
            if record.expires_at is not None:
                pipe.zadd(keys.files_by_expiry(), {record.id: record.expires_at})
            await pipe.execute()

    async def get(self, file_id: str, *, tenant: str | None) -> FileRecord | None:
        """The record, or None when unknown or owned by another tenant (the two are indistinguishable)."""
        raw = await self._redis.get(keys.file_record(file_id))
        if raw is None:
            return None
        record = _decode(raw)
        if tenant is not None and record.tenant != tenant:
            return None
        return record

    async def get_many(self, file_ids: Sequence[str]) -> list[FileRecord]:
        if not file_ids:
            return []
        raws = await self._redis.mget([keys.file_record(file_id) for file_id in file_ids])
        return [_decode(raw) for raw in raws if raw is not None]

    async def delete(self, record: FileRecord) -> bool:
        """Remove the record and its index entries; False when another caller removed it first."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.file_record(record.id))
            pipe.zrem(keys.file_index(record.tenant), record.id)
            pipe.zrem(keys.file_index(record.tenant, record.purpose), record.id)
            pipe.zrem(keys.files_by_expiry(), record.id)
            deleted, *_ = await pipe.execute()
        return bool(deleted)

    async def list_page(
        self,
        tenant: str,
        *,
        purpose: str | None,
        after: str | None,
        limit: int,
        order: Literal["asc", "desc"],
    ) -> tuple[list[FileRecord], bool]:
        """One page in `order` by creation, strictly after `after`, and whether more follow."""
        index = keys.file_index(tenant, purpose)
        # Fetch one extra id to know `has_more` exactly. Records deleted between the two reads are skipped.
        if order == "desc":
            start = f"({after}" if after else "+"
            ids = await self._redis.zrange(index, start, "-", desc=True, bylex=True, offset=0, num=limit + 1)
        else:
            start = f"({after}" if after else "-"
            ids = await self._redis.zrange(index, start, "+", bylex=True, offset=0, num=limit + 1)
        page_ids = _decode_ids(ids[:limit])
        return await self.get_many(page_ids), len(ids) > limit

    async def expired(self, now: int, limit: int) -> list[str]:
        raw = await self._redis.zrangebyscore(keys.files_by_expiry(), "-inf", now, start=0, num=limit)
        return _decode_ids(raw)


def _decode_ids(reply: object) -> list[str]:
    return [item.decode() for item in cast("list[bytes]", reply)]
