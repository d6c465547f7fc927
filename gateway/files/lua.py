"""The Lua scripts of the file stores: per-tenant upload slots (gateway.files.leases)."""

from __future__ import annotations

from gateway.core.lua import Script

__all__ = ["ACQUIRE_SLOT", "RENEW_SLOT"]

# Invariant: the set holds at most ARGV[1] unexpired leases; expired ones are dropped before counting.
# Redis' own clock (TIME) scores every lease, so replicas with skewed clocks agree on what has expired.
ACQUIRE_SLOT = Script("""
local slots, limit, lease, ttl = KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
if redis.call('ZCARD', slots) >= limit then return 0 end
redis.call('ZADD', slots, now + ttl, lease)
redis.call('PEXPIRE', slots, ttl)
return 1
""")

# Invariant: only a live lease is extended (one that ran out may already have been given to another upload).
RENEW_SLOT = Script("""
local slots, lease, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ends = redis.call('ZSCORE', slots, lease)
if not ends or tonumber(ends) <= now then return 0 end
redis.call('ZADD', slots, now + ttl, lease)
if redis.call('PTTL', slots) < ttl then redis.call('PEXPIRE', slots, ttl) end
return 1
""")
