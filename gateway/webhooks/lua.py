"""The Lua scripts of the webhook stores. Every key they touch carries the `{webhooks}` hash tag and is
named in KEYS[], so each runs in one Redis Cluster slot."""

from __future__ import annotations

from gateway.core.lua import Script

__all__ = ["CLAIM", "CREATE_ENDPOINT", "DELETE_ENDPOINT", "ENQUEUE", "RELEASE", "ROTATE", "UPDATE_ENDPOINT"]

# KEYS: record, tenant index. ARGV: limit, id, field/value pairs.
CREATE_ENDPOINT = Script("""
-- A tenant never holds more than `limit` endpoints.
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 1
""")

# KEYS: record. ARGV: tenant, field/value pairs.
UPDATE_ENDPOINT = Script("""
-- Only the owning tenant's existing endpoint changes.
if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
""")

# KEYS: record. ARGV: tenant, new secret, old secret valid until (unix s; 0: revoke at once), now.
ROTATE = Script("""
-- The secret kept for the overlap is the one current until this rotation, never an older one.
local current = redis.call('HGET', KEYS[1], 'secret')
if not current or redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then current = '' end
redis.call('HSET', KEYS[1], 'old_secret', current, 'old_secret_until', ARGV[3])
redis.call('HSET', KEYS[1], 'secret', ARGV[2], 'updated_at', ARGV[4])
return 1
""")

# KEYS: record, tenant index. ARGV: tenant, id.
DELETE_ENDPOINT = Script("""
-- Only the owning tenant deletes; record and index entry go together.
if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
""")

# KEYS: batch marker, due set, one delivery hash per endpoint. ARGV: event id, marker ttl (s), due (ms),
# then one JSON object of string fields per delivery (its `id` is the member of the due set).
ENQUEUE = Script("""
-- A batch's event is enqueued once, whatever repeats the step that ends the batch.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
for i = 3, #KEYS do
  local fields = cjson.decode(ARGV[i + 1])
  for name, value in pairs(fields) do redis.call('HSET', KEYS[i], name, value) end
  redis.call('ZADD', KEYS[2], ARGV[3], fields['id'])
end
return 1
""")

# KEYS: due set, then the candidates' delivery hashes. ARGV: now (ms), lease end (ms), the candidates' ids.
CLAIM = Script("""
-- One worker at a time holds a delivery: it is claimed only while due, the claim moves it to the lease end,
-- and each claim bumps `attempts`, the fencing token RELEASE demands.
local claimed = {}
for i = 2, #KEYS do
  local id = ARGV[i + 1]
  local due = redis.call('ZSCORE', KEYS[1], id)
  if due and tonumber(due) <= tonumber(ARGV[1]) then
    if redis.call('EXISTS', KEYS[i]) == 1 then
      redis.call('ZADD', KEYS[1], ARGV[2], id)
      redis.call('HINCRBY', KEYS[i], 'attempts', 1)
      table.insert(claimed, redis.call('HGETALL', KEYS[i]))
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
return claimed
""")

# KEYS: due set, delivery hash. ARGV: id, token (attempts at claim), next due (ms) or '' to end it, last error.
RELEASE = Script("""
-- Only the holder of the latest claim ends or re-schedules a delivery.
if redis.call('HGET', KEYS[2], 'attempts') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  redis.call('HSET', KEYS[2], 'last_error', ARGV[4])
end
return 1
""")
