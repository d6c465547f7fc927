"""Lua sources of the batch scripts. The transition table is rendered in from `status.TRANSITIONS`.

Replies are `{0}` (no such batch), `{1, current_status}` (refused), `{2, <HGETALL of the record>}` or `{3}`
(fenced out: a newer claim than the caller's adopted the batch, see `fencing.py`).

Fencing: a worker step passes its claim's token (`''` for writers outside a step: the API, operators); the
write happens only while the record's `fence_token` is that token. `adopt` stores a claim's token on the
record when its step starts, refusing a token older than the stored one, so a step paused past its lease
cannot write once its successor has started.

Sealing (terminal means settled): `seal` fixes a batch's terminal outcome and final fields on the record
(`closing_status`, `closing_at`) without changing its status; the worker then settles the ledger and makes
the status terminal. Once sealed, the transition script refuses any other destination, so no reader ever
sees a terminal status before its settlement, and a cancel cannot slip in between.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.batches.status import TERMINAL, TRANSITIONS, BatchStatus, timestamp_field
from gateway.core.lua import Script

__all__ = [
    "ADOPT",
    "CREATE",
    "SCHEDULE_ADD",
    "SCHEDULE_CLAIM",
    "SCHEDULE_FENCED",
    "SEAL",
    "STATUS_ORDER",
    "TRANSITION",
    "UPDATE",
]

# KEYS[STATUS_KEYS_FROM + i] is the status index of STATUS_ORDER[i] in both scripts' key lists.
STATUS_ORDER: tuple[BatchStatus, ...] = tuple(BatchStatus)

_FENCE = """
local function fenced_out(record, fence)
  return fence ~= '' and redis.call('HGET', record, 'fence_token') ~= fence
end
local function sealed_elsewhere(record, to)
  local closing = redis.call('HGET', record, 'closing_status')
  return closing and closing ~= 'null' and closing ~= '"' .. to .. '"'
end
"""

_TRANSITION_BODY = """
local record, events, expiry = KEYS[1], KEYS[2], KEYS[3]
local id, to, now, cause, only_from, fence = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local current = redis.call('HGET', record, 'status')
if not current then return {0} end
if fenced_out(record, fence) then return {3} end
if sealed_elsewhere(record, to) then return {1, current} end
local allowed = ALLOWED[current]
if not allowed or not allowed[to] then return {1, current} end
if only_from ~= '' and not string.find(',' .. only_from .. ',', ',' .. current .. ',', 1, true) then
  return {1, current}
end
if #ARGV > 6 then redis.call('HSET', record, unpack(ARGV, 7)) end
redis.call('HSET', record, 'status', to, STAMP[to], now)
redis.call('ZREM', KEYS[INDEX[current]], id)
redis.call('ZADD', KEYS[INDEX[to]], now, id)
if TERMINAL[to] then redis.call('ZREM', expiry, id) end
redis.call('XADD', events, '*', 'time', now, 'from', current, 'to', to, 'cause', cause)
return {2, redis.call('HGETALL', record)}
"""

_UPDATE_BODY = """
local record = KEYS[1]
local allowed, fence = ARGV[1], ARGV[2]
local current = redis.call('HGET', record, 'status')
if not current then return {0} end
if fenced_out(record, fence) then return {3} end
if TERMINAL[current] or not string.find(',' .. allowed .. ',', ',' .. current .. ',', 1, true) then
  return {1, current}
end
redis.call('HSET', record, unpack(ARGV, 3))
return {2, redis.call('HGETALL', record)}
"""

# ARGV: token. A token is never reused (one counter for all claims), so "older" is "smaller".
_ADOPT_BODY = """
local record, token = KEYS[1], tonumber(ARGV[1])
if redis.call('EXISTS', record) == 0 then return {0} end
local held = tonumber(redis.call('HGET', record, 'fence_token') or '0')
if held > token then return {3} end
redis.call('HSET', record, 'fence_token', ARGV[1])
return {2, redis.call('HGETALL', record)}
"""

# ARGV: to, closing_at, fence, then field pairs. An existing seal is kept (the first outcome fixed wins) and
# returned, so a step repeated after a crash completes the outcome already settled, never a second one.
_SEAL_BODY = """
local record = KEYS[1]
local to, now, fence = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', record, 'status')
if not current then return {0} end
if fenced_out(record, fence) then return {3} end
if TERMINAL[current] then return {1, current} end
local closing = redis.call('HGET', record, 'closing_status')
if closing and closing ~= 'null' then return {2, redis.call('HGETALL', record)} end
if not ALLOWED[current][to] then return {1, current} end
if #ARGV > 3 then redis.call('HSET', record, unpack(ARGV, 4)) end
redis.call('HSET', record, 'closing_status', '"' .. to .. '"', 'closing_at', now)
return {2, redis.call('HGETALL', record)}
"""


# The in-flight set holds record keys. When it is full, the caller passes its members as KEYS[7..] (a script
# may touch only the keys it declares), and the script prunes those it finds terminal or gone. Reply: 1
# admitted, 0 refused, -1 full and no members declared (call again with them).
_CREATE_BODY = """
local record, index, by_status, expiry, events, in_flight = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, limit, status, stamp, expires_at = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local running = not TERMINAL[status]
if running and limit > 0 and redis.call('SCARD', in_flight) >= limit then
  if #KEYS == 6 then return -1 end
  for k = 7, #KEYS do
    local current = redis.call('HGET', KEYS[k], 'status')
    if not current or TERMINAL[current] then redis.call('SREM', in_flight, KEYS[k]) end
  end
  if redis.call('SCARD', in_flight) >= limit then return 0 end
end
redis.call('HSET', record, unpack(ARGV, 6))
redis.call('ZADD', index, 0, id)
redis.call('ZADD', by_status, stamp, id)
if running then
  redis.call('SADD', in_flight, record)
  if expires_at ~= '' then redis.call('ZADD', expiry, expires_at, id) end
end
redis.call('XADD', events, '*', 'time', stamp, 'from', '', 'to', status, 'cause', 'created')
return 1
"""


def _lua_set(statuses: Iterable[BatchStatus]) -> str:
    return "{" + ", ".join(f"[{value!r}] = true" for value in sorted(s.value for s in statuses)) + "}"


def _tables() -> str:
    allowed = ", ".join(f"[{s.value!r}] = {_lua_set(TRANSITIONS[s])}" for s in STATUS_ORDER)
    stamps = ", ".join(f"[{s.value!r}] = {timestamp_field(s)!r}" for s in STATUS_ORDER)
    index = ", ".join(f"[{s.value!r}] = {i + 4}" for i, s in enumerate(STATUS_ORDER))
    return (
        f"local ALLOWED = {{{allowed}}}\n"
        f"local STAMP = {{{stamps}}}\n"
        f"local INDEX = {{{index}}}\n"
        f"local TERMINAL = {_lua_set(TERMINAL)}\n"
    )


# Invariant: the status changes only along TRANSITIONS (to the sealed outcome once sealed, and only for the
# fence token's holder), together with its timestamp, indexes and event.
TRANSITION = Script(_tables() + _FENCE + _TRANSITION_BODY)

# Invariant: a tenant never holds more than `limit` non-terminal batches (terminal never turns back, so
# pruning members seen terminal at admission keeps the count an upper bound under any concurrency).
CREATE = Script(f"local TERMINAL = {_lua_set(TERMINAL)}\n" + _CREATE_BODY)

# Invariant: field updates never touch a terminal batch, nor one outside the caller's allowed statuses, nor
# one whose fence token is not the caller's.
UPDATE = Script(f"local TERMINAL = {_lua_set(TERMINAL)}\n" + _FENCE + _UPDATE_BODY)

# Invariant: a record's fence token only grows, so a stale claim never takes a batch back.
ADOPT = Script(_ADOPT_BODY)

# Invariant: a batch's terminal outcome is fixed once, along a TRANSITIONS edge, before any reader sees it.
SEAL = Script(_tables() + _FENCE + _SEAL_BODY)

# The shared work schedule (gateway.batches.schedule); its keys share the hash tag `{work}`.

# Invariant: an id is handed to at most one claimer per lease, and each claim gets a fresh, larger token.
SCHEDULE_CLAIM = Script("""
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local token = redis.call('INCR', KEYS[3])
  redis.call('HSET', KEYS[2], id, token)
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
  table.insert(out, id)
  table.insert(out, token)
end
return out
""")

# Invariant: only the holder of the current token moves the id (ARGV[3] = 'renew' | 'reschedule' | 'remove').
SCHEDULE_FENCED = Script("""
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == 'renew' then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[4], ARGV[1])
  return 1
end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[3] == 'remove' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1]) end
return 1
""")

# Invariant: `add` never shortens a live claim's lease; otherwise the id becomes due no later than asked.
SCHEDULE_ADD = Script("""
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
return redis.call('ZADD', KEYS[1], 'LT', 'CH', ARGV[2], ARGV[1]) + 1
""")
