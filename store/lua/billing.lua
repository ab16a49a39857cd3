-- Replaces a user's billing document if nobody changed it meanwhile.
-- KEYS: idem, billing, audit
-- ARGV: ttl, actor, expectedVersion, newVersion, document, what
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local v = redis.call('HGET', KEYS[2], 'v') or '0'
if v ~= ARGV[3] then return redis.error_reply('BB:STALE') end
redis.call('HSET', KEYS[2], 'v', ARGV[4], 'doc', ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[2], 'action', ARGV[6],
  'target', 'billing', 'before', v, 'after', ARGV[4])
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[1])
return {'new', ARGV[4]}
