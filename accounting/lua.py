"""Lua scripts of the ledger. Each keeps one invariant, stated above it.

Money is exact: amounts travel as plain non-negative decimal strings ("0.000028") and `dadd` adds
them digit by digit, so running totals in Redis are exact decimals of any length — no float
(INCRBYFLOAT) and no fixed scale (INCRBY of micro-units would have to round sub-unit costs).
"""

from __future__ import annotations

from gateway.core.lua import Script

__all__ = [
    "ADMIT_LABELS",
    "CHECK_BUDGET",
    "CHECK_TAG_BUDGETS",
    "MONTH_SPEND",
    "RELEASE",
    "RELEASE_TAGS",
    "RESERVE",
    "SETTLE",
    "TAG_MONTH_SPEND",
]

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
# KEYS: record, global index, tenant index, day totals, month spend, tenant reservations, reservation owners,
#   then optionally tag month spend, tag reservation owners and the reservation hash of each of the record's tags
#   (the tags' spend and reservations settle with the rest; the tags are read from the record's JSON)
# ARGV: record bytes, index member, tenant, batch id, batch cost, n ints, then n (field, int) and (field, decimal)
SETTLE = Script(
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
if #KEYS >= 9 then
  local tags = cjson.decode(ARGV[1]).tags
  if type(tags) == 'table' then
    for key, value in pairs(tags) do
      local field = key .. '=' .. value
      redis.call('HSET', KEYS[8], field, dadd(redis.call('HGET', KEYS[8], field) or '0', ARGV[5]))
    end
  end
  redis.call('HDEL', KEYS[9], ARGV[4])
  for i = 10, #KEYS do redis.call('HDEL', KEYS[i], ARGV[4]) end
end
return 1
"""
)

# Invariant: settled + reserved + this estimate never exceeds the budget when a reservation is granted.
# KEYS: month spend, tenant reservations, reservation owners
# ARGV: tenant, month, batch id, estimate, budget → {granted 0/1, settled, reserved (others)}
CHECK_BUDGET = Script(
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
RESERVE = Script("""
redis.call('HSET', KEYS[1], ARGV[3], ARGV[2] .. ' ' .. ARGV[4])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return 1
""")

# Invariant: a reservation is dropped from its owner's hash together with its owner entry, and only if the
# owner is still the tenant the caller read (a script may touch only declared keys, so the caller reads it).
# KEYS: reservation owners, that tenant's reservations; ARGV: batch id, tenant → 1 dropped, 0 none, -1 owner moved
RELEASE = Script("""
local tenant = redis.call('HGET', KEYS[1], ARGV[1])
if not tenant then return 0 end
if tenant ~= ARGV[2] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
""")

# KEYS: month spend, tenant reservations; ARGV: tenant, month → {settled, reserved}
MONTH_SPEND = Script(
    _DECIMAL
    + """
return {redis.call('HGET', KEYS[1], ARGV[1]) or '0', reserved_in(KEYS[2], ARGV[2], '')}
"""
)

# Invariant: for every budgeted tag value, settled + reserved + this estimate never exceeds its budget when the
# reservations are granted; they are granted on all of the batch's budgeted tags or on none.
# KEYS: tag month spend, tag reservation owners, then one reservation hash per budgeted tag
# ARGV: month, batch id, estimate, owner entry, then per budgeted tag (field `key=value`, budget)
# → {1} granted, or {0, index of the first tag refused (1-based), its settled, its reserved (others)}
CHECK_TAG_BUDGETS = Script(
    _DECIMAL
    + """
for i = 3, #KEYS do
  local field, budget = ARGV[3 + 2 * (i - 2)], ARGV[4 + 2 * (i - 2)]
  local settled = redis.call('HGET', KEYS[1], field) or '0'
  local reserved = reserved_in(KEYS[i], ARGV[1], ARGV[2])
  if dcmp(dadd(dadd(settled, reserved), ARGV[3]), budget) > 0 then return {0, i - 2, settled, reserved} end
end
for i = 3, #KEYS do redis.call('HSET', KEYS[i], ARGV[2], ARGV[1] .. ' ' .. ARGV[3]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return {1}
"""
)

# Invariant: a batch's tag reservations are dropped together with its owner entry, and only if that entry is the
# one the caller read (which named the reservation hashes passed in KEYS).
# KEYS: tag reservation owners, then the reservation hash of each tag in the entry; ARGV: batch id, entry
# → 1 dropped, 0 none, -1 entry changed
RELEASE_TAGS = Script("""
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
if entry ~= ARGV[2] then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 2, #KEYS do redis.call('HDEL', KEYS[i], ARGV[1]) end
return 1
""")

# KEYS: tag month spend, that tag's reservations; ARGV: field `key=value`, month → {settled, reserved}
TAG_MONTH_SPEND = Script(
    _DECIMAL
    + """
return {redis.call('HGET', KEYS[1], ARGV[1]) or '0', reserved_in(KEYS[2], ARGV[2], '')}
"""
)

# Invariant: a tag key's set of labelled values never grows past the cap; a value in the set keeps its label.
# KEYS: one label-values set per tag key; ARGV: cap, then one value per key → the label of each (value or other)
ADMIT_LABELS = Script("""
local cap = tonumber(ARGV[1])
local labels = {}
for i = 1, #KEYS do
  local value = ARGV[i + 1]
  if redis.call('SISMEMBER', KEYS[i], value) == 1 then
    labels[i] = value
  elseif redis.call('SCARD', KEYS[i]) < cap then
    redis.call('SADD', KEYS[i], value)
    labels[i] = value
  else
    labels[i] = 'other'
  end
end
return labels
""")
