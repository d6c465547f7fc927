"""The executor's Lua scripts, each with the invariant it keeps. Loaded by SHA; reloaded after a Redis restart."""

from __future__ import annotations

from gateway.core.lua import Script

__all__ = ["CLOSE", "CORRECT", "ENQUEUE", "LOSE", "NEXT", "RATE", "RECORD", "RESERVE", "pack"]


def pack(fields: list[bytes]) -> bytes:
    """Fields as one script argument, for the scripts' `split`."""
    return b"".join([b"%d:%b" % (len(field), field) for field in fields])


# Invariant: a batch's chunks are enqueued exactly once (all XADDs, the backlog and the marker in one atomic
# step). Only the first `window` chunks go on the stream; the rest wait in the batch's backlog and each
# finished chunk brings the next (NEXT), so batches take turns at chunk granularity: a small batch created
# behind a big one waits for at most `window` of its chunks, not for all of them.
# KEYS: stream, enqueued, backlog. ARGV: batch_id, endpoint, window, then chunk key and line count, per chunk.
# The marker holds the entry ids (comma-joined), so cleanup can delete them.
ENQUEUE = Script("""
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local ids, window = {}, tonumber(ARGV[3])
for i = 4, #ARGV, 2 do
  if #ids < window then
    ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'batch_id', ARGV[1], 'endpoint', ARGV[2], 'key', ARGV[i],
                               'lines', ARGV[i + 1])
  else
    redis.call('RPUSH', KEYS[3], ARGV[i], ARGV[i + 1])
  end
end
redis.call('HSET', KEYS[2], ARGV[1], table.concat(ids, ','))
return 1
""")

# Invariant: a chunk entry is acknowledged once, and only that first acknowledgement puts the batch's next
# backlog chunk on the stream (so a retried round trip or a second worker's ack adds nothing); nothing is
# added for a batch already cleaned up (marker gone). KEYS: stream, enqueued, backlog. ARGV: group, entry id,
# batch_id, endpoint. Returns 1 if a chunk was added.
NEXT = Script("""
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
local ids = redis.call('HGET', KEYS[2], ARGV[3])
if not ids then
  redis.call('DEL', KEYS[3])
  return 0
end
local key = redis.call('LPOP', KEYS[3])
if not key then return 0 end
local lines = redis.call('LPOP', KEYS[3])
local id = redis.call('XADD', KEYS[1], '*', 'batch_id', ARGV[3], 'endpoint', ARGV[4], 'key', key, 'lines', lines)
redis.call('HSET', KEYS[2], ARGV[3], ids == '' and id or (ids .. ',' .. id))
return 1
""")

# Invariant: a batch is closed once, with one outcome; the counters returned are final (RECORD writes
# nothing into a closed batch). KEYS: meta. ARGV: outcome. Returns closed, total, completed, failed, lost.
CLOSE = Script("""
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'closed', ARGV[1])
return redis.call('HMGET', KEYS[1], 'closed', 'total', 'completed', 'failed', 'lost')
""")

# Invariant: the lines of a chunk whose stored file cannot be read are counted lost once per stream entry,
# and never into a closed or cleaned-up batch; poll() then treats them as finished (they have no result,
# so the gateway reports each in the error file). KEYS: meta. ARGV: entry id, line count. Returns 1 if counted.
LOSE = Script("""
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'closed') == 1 then return 0 end
if redis.call('HSETNX', KEYS[1], 'lost:' .. ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'lost', ARGV[2])
return 1
""")

# Many lines go in one argument, as length-prefixed fields ("<bytes>:<field>", repeated): one argument
# per call instead of several per line (packing arguments one by one costs the client more than the script).
_SPLIT = """
local function split(blob)
  local out, pos = {}, 1
  while pos <= #blob do
    local colon = string.find(blob, ':', pos, true)
    local n = tonumber(string.sub(blob, pos, colon - 1))
    out[#out + 1] = string.sub(blob, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return out
end
"""

# Invariant: an attempt is granted only for a line without an outcome in a live, uncancelled, unexpired
# batch, and every grant is counted (so no line is sent more than max_attempts times, whatever crashes).
# KEYS: meta, results, attempts. ARGV: the custom_ids, packed. Returns, per custom_id, the attempt number,
# or -1 done, -2 cancelled or closed, -3 expired, -4 batch gone; then the batch's expires_at (0 when gone),
# so a worker holding grants ahead of sending can drop them once the batch expires.
RESERVE = Script(
    _SPLIT
    + """
local ids, out = split(ARGV[1]), {}
local refused, expires_at = 0, 0
if redis.call('EXISTS', KEYS[1]) == 0 then refused = -4
else
  local m = redis.call('HMGET', KEYS[1], 'cancelled_at', 'closed', 'expires_at')
  expires_at = tonumber(m[3])
  if m[1] or m[2] then refused = -2 elseif expires_at <= tonumber(redis.call('TIME')[1]) then refused = -3 end
end
local granted = 0
for i = 1, #ids do
  if refused ~= 0 then out[i] = refused
  elseif redis.call('HEXISTS', KEYS[2], ids[i]) == 1 then out[i] = -1
  else
    out[i] = redis.call('HINCRBY', KEYS[3], ids[i], 1)
    granted = granted + 1
  end
end
if granted > 0 then redis.call('HINCRBY', KEYS[1], 'inflight', granted) end
out[#ids + 1] = expires_at
return out
"""
)

# Invariant: a line's outcome is written once and its counter and served tokens move with that first write
# only; nothing is written into a closed (finished) or cleaned-up batch. Every outcome and release gives back
# one in-flight grant. KEYS: meta, results. ARGV: releases (a count), then (custom_id, line, counter field
# 'completed' | 'failed', served) repeated, packed; served is '' or "<multiplier>:<in>:<cached>:<out>:<reasoning>"
# (rates.py), summed per multiplier into the meta fields `served:<multiplier>:<kind>`. Returns how many
# outcomes were written.
RECORD = Script(
    _SPLIT
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local f = split(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'inflight', -(tonumber(ARGV[1]) + #f / 4))
if redis.call('HEXISTS', KEYS[1], 'closed') == 1 then return 0 end
local written, completed, failed, served = 0, 0, 0, nil
for i = 1, #f, 4 do
  if redis.call('HSETNX', KEYS[2], f[i], f[i + 1]) == 1 then
    written = written + 1
    if f[i + 2] == 'completed' then completed = completed + 1 else failed = failed + 1 end
    if f[i + 3] ~= '' then
      served = served or {}
      local m, a, b, c, d = string.match(f[i + 3], '^([^:]+):(%d+):(%d+):(%d+):(%d+)$')
      local t = served[m] or {0, 0, 0, 0}
      t[1], t[2], t[3], t[4] = t[1] + a, t[2] + b, t[3] + c, t[4] + d
      served[m] = t
    end
  end
end
if completed > 0 then redis.call('HINCRBY', KEYS[1], 'completed', completed) end
if failed > 0 then redis.call('HINCRBY', KEYS[1], 'failed', failed) end
if served then
  local kinds = {'in', 'cached', 'out', 'reason'}
  for m, t in pairs(served) do
    for k = 1, 4 do
      if t[k] > 0 then redis.call('HINCRBY', KEYS[1], 'served:' .. m .. ':' .. kinds[k], t[k]) end
    end
  end
end
return written
"""
)

# Invariant (GCRA, no burst allowance): consecutive sends are at least one interval apart for RPM, and a
# request's estimated tokens are spread over their share of the minute for TPM, across all workers.
# KEYS: rpm tat, tpm tat. ARGV: rpm interval (0 = off), tokens, seconds per token (0 = off).
# Returns the delay (seconds, as a string) before this request may be sent.
RATE = Script("""
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rpm, cost = tonumber(ARGV[1]), tonumber(ARGV[2]) * tonumber(ARGV[3])
local at = now
if rpm > 0 then at = math.max(at, tonumber(redis.call('GET', KEYS[1]) or '0')) end
if cost > 0 then at = math.max(at, tonumber(redis.call('GET', KEYS[2]) or '0')) end
local ttl = math.ceil((at - now) * 1000) + 120000
if rpm > 0 then redis.call('SET', KEYS[1], string.format('%.6f', at + rpm), 'PX', ttl) end
if cost > 0 then redis.call('SET', KEYS[2], string.format('%.6f', at + cost), 'PX', ttl) end
return string.format('%.6f', at - now)
""")

# Invariant: once a response reports real usage, the TPM schedule is moved by (actual - estimate) tokens.
# KEYS: tpm tat. ARGV: seconds to add (negative refunds).
CORRECT = Script("""
local v = redis.call('GET', KEYS[1])
if v then redis.call('SET', KEYS[1], string.format('%.6f', tonumber(v) + tonumber(ARGV[1])), 'KEEPTTL') end
return 0
""")
