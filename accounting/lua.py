"""Lua scripts of the ledger. Each keeps one invariant, stated above it.

Money is exact: amounts travel as plain non-negative decimal strings ("0.000028") and `dadd` adds
them digit by digit, so running totals in Redis are exact decimals of any length — no float
(INCRBYFLOAT) and no fixed scale (INCRBY of micro-units would have to round sub-unit costs).
"""

from __future__ import annotations

__all__ = ["CHECK_BUDGET", "MONTH_SPEND", "RELEASE", "RESERVE", "SETTLE"]

_DECIMAL = """
local function parts(s)
  local i, f = string.match(s, '^(%d+)%.?(%d*)$')
  return i, f
end
local function align(a, b)
  local ai, af = parts(a)
  local bi, bf = parts(b)
  local fl, il = math.max(#af, #bf), math.max(#ai, #bi)
  af = af .. string.rep('0', fl - #af)
  bf = bf .. string.rep('0', fl - #bf)
  ai = string.rep('0', il - #ai) .. ai
  bi = string.rep('0', il - #bi) .. bi
  return ai .. af, bi .. bf, fl
end
local function dadd(a, b)
  local x, y, fl = align(a, b)
  local out, carry = {}, 0
  for k = #x, 1, -1 do
    local d = string.byte(x, k) + string.byte(y, k) - 96 + carry
    if d >= 10 then d = d - 10; carry = 1 else carry = 0 end
    out[#out + 1] = string.char(d + 48)
  end
  if carry == 1 then out[#out + 1] = '1' end
  local digits = string.reverse(table.concat(out))
  local ip = (string.gsub(string.sub(digits, 1, #digits - fl), '^0+', ''))
  local fp = (string.gsub(string.sub(digits, #digits - fl + 1), '0+$', ''))
  if ip == '' then ip = '0' end
  if fp == '' then return ip end
  return ip .. '.' .. fp
end
local function dcmp(a, b)
  local x, y = align(a, b)
  if x < y then return -1 elseif x > y then return 1 end
  return 0
end
local function reserved_in(hash, month, skip)
  local sum = '0'
  local entries = redis.call('HGETALL', hash)
  for k = 1, #entries, 2 do
    local m, amount = string.match(entries[k + 1], '^(%S+) (%S+)$')
    if m == month and entries[k] ~= skip then sum = dadd(sum, amount) end
  end
  return sum
end
"""

# Invariant: a batch is settled at most once — record, indexes, totals and spend change together or not at all.
# KEYS: record, global index, tenant index, day totals, month spend, tenant reservations, reservation owners
# ARGV: record bytes, index member, tenant, batch id, batch cost, n ints, then n (field, int) and (field, decimal)
SETTLE = (
    _DECIMAL
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
local n = tonumber(ARGV[6])
local k = 7
for _ = 1, n do
  redis.call('HINCRBY', KEYS[4], ARGV[k], ARGV[k + 1])
  k = k + 2
end
while k < #ARGV do
  local old = redis.call('HGET', KEYS[4], ARGV[k]) or '0'
  redis.call('HSET', KEYS[4], ARGV[k], dadd(old, ARGV[k + 1]))
  k = k + 2
end
local spent = redis.call('HGET', KEYS[5], ARGV[3]) or '0'
redis.call('HSET', KEYS[5], ARGV[3], dadd(spent, ARGV[5]))
redis.call('HDEL', KEYS[6], ARGV[4])
redis.call('HDEL', KEYS[7], ARGV[4])
return 1
"""
)

# Invariant: settled + reserved + this estimate never exceeds the budget when a reservation is granted.
# KEYS: month spend, tenant reservations, reservation owners
# ARGV: tenant, month, batch id, estimate, budget → {granted 0/1, settled, reserved (others)}
CHECK_BUDGET = (
    _DECIMAL
    + """
local settled = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
local reserved = reserved_in(KEYS[2], ARGV[2], ARGV[3])
if dcmp(dadd(dadd(settled, reserved), ARGV[4]), ARGV[5]) > 0 then return {0, settled, reserved} end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2] .. ' ' .. ARGV[4])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
return {1, settled, reserved}
"""
)

# Invariant: a reservation is in its tenant's hash exactly when its owner entry names that tenant.
# KEYS: tenant reservations, reservation owners; ARGV: tenant, month, batch id, estimate
RESERVE = """
redis.call('HSET', KEYS[1], ARGV[3], ARGV[2] .. ' ' .. ARGV[4])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

# Invariant: a reservation is dropped from its owner's hash together with its owner entry, and only if the
# owner is still the tenant the caller read (a script may touch only declared keys, so the caller reads it).
# KEYS: reservation owners, that tenant's reservations; ARGV: batch id, tenant → 1 dropped, 0 none, -1 owner moved
RELEASE = """
local tenant = redis.call('HGET', KEYS[1], ARGV[1])
if not tenant then return 0 end
if tenant ~= ARGV[2] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

# KEYS: month spend, tenant reservations; ARGV: tenant, month → {settled, reserved}
MONTH_SPEND = (
    _DECIMAL
    + """
return {redis.call('HGET', KEYS[1], ARGV[1]) or '0', reserved_in(KEYS[2], ARGV[2], '')}
"""
)
