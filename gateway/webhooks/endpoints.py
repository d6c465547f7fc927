"""EndpointStore: a tenant's webhook endpoints in Redis (keys from `gateway.redis.keys`, scripts in `lua.py`).

Each endpoint is a hash; a tenant's ids sit in a lexicographic sorted set (ids sort by creation time), read
newest first as OpenAI lists them. Every write checks the owning tenant inside its script, so another
tenant's id behaves exactly like an unknown one.
"""

from __future__ import annotations

from typing import cast

from gateway.core.redis_types import RedisClient
from gateway.redis import keys
from gateway.webhooks import lua
from gateway.webhooks.records import EndpointRecord, decode_record, encode_record

__all__ = ["EndpointStore"]


def _pairs(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


class EndpointStore:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def create(self, record: EndpointRecord, *, limit: int) -> bool:
        """Store a new endpoint; False (nothing written) when the tenant already has `limit` of them."""
        script_keys = [keys.webhook_endpoint(record.id), keys.webhook_endpoint_index(record.tenant)]
        args: list[str | int] = [limit, record.id, *_pairs(encode_record(record))]
        return bool(await lua.CREATE_ENDPOINT(self._redis, keys=script_keys, args=args))

    async def get(self, endpoint_id: str, *, tenant: str) -> EndpointRecord | None:
        """The endpoint, or None when unknown or another tenant's (the two are indistinguishable)."""
        raw = cast("dict[bytes, bytes]", await self._redis.hgetall(keys.webhook_endpoint(endpoint_id)))
        if not raw:
            return None
        record = decode_record(raw)
        return record if record.tenant == tenant else None

    async def list_page(self, tenant: str, *, after: str | None, limit: int) -> tuple[list[EndpointRecord], bool]:
        """One page, newest first, strictly after `after`, and whether more follow."""
        start = f"({after}" if after else "+"
        index = keys.webhook_endpoint_index(tenant)
        ids = await self._redis.zrange(index, start, "-", desc=True, bylex=True, offset=0, num=limit + 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for raw in cast("list[bytes]", ids[:limit]):
                pipe.hgetall(keys.webhook_endpoint(raw.decode()))
            hashes = cast("list[dict[bytes, bytes]]", await pipe.execute())
        # An endpoint deleted between the two reads is skipped; the tenant check guards a corrupt index.
        records = [decode_record(raw) for raw in hashes if raw]
        return [record for record in records if record.tenant == tenant], len(ids) > limit

    async def all(self, tenant: str) -> list[EndpointRecord]:
        """Every endpoint of a tenant (bounded by `max_endpoints_per_tenant`)."""
        records, _ = await self.list_page(tenant, after=None, limit=1000)
        return records

    async def update(self, endpoint_id: str, tenant: str, fields: dict[str, str]) -> EndpointRecord | None:
        if not await lua.UPDATE_ENDPOINT(
            self._redis, keys=[keys.webhook_endpoint(endpoint_id)], args=[tenant, *_pairs(fields)]
        ):
            return None
        return await self.get(endpoint_id, tenant=tenant)

    async def rotate(
        self, endpoint_id: str, tenant: str, *, secret: str, old_valid_until: int, now: int
    ) -> EndpointRecord | None:
        """Make `secret` current; the previous one keeps signing until `old_valid_until` (0: not at all)."""
        args: list[str | int] = [tenant, secret, old_valid_until, now]
        if not await lua.ROTATE(self._redis, keys=[keys.webhook_endpoint(endpoint_id)], args=args):
            return None
        return await self.get(endpoint_id, tenant=tenant)

    async def delete(self, endpoint_id: str, tenant: str) -> bool:
        script_keys = [keys.webhook_endpoint(endpoint_id), keys.webhook_endpoint_index(tenant)]
        return bool(await lua.DELETE_ENDPOINT(self._redis, keys=script_keys, args=[tenant, endpoint_id]))
