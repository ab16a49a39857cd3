-- Replaces a user's billing document if nobody changed it meanwhile.
-- KEYS: idem, billing, audit
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, expectedVersion, newVersion, document, what
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local v = redis.call('HGET', KEYS[2], 'v') or '0'
if v ~= ARGV[4] then return redis.error_reply('BB:STALE') end
redis.call('HSET', KEYS[2], 'v', ARGV[5], 'doc', ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', ARGV[7],
  'target', 'billing', 'before', v, 'after', ARGV[5])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or ARGV[5], 'EX', ARGV[1])
return {'new', ARGV[5]}
