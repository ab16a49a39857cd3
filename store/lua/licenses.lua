-- Sets the total number of licenses.
-- KEYS: idem, sub, subUsers, audit
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, newTotal, expectedTotal
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'total', 'id')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if s[2] == 'trial' then return redis.error_reply('BB:NOTTRIAL') end
if s[2] ~= 'active' then return redis.error_reply('BB:NOTLIVE') end
if s[3] ~= ARGV[5] then return redis.error_reply('BB:STALE') end
if tonumber(ARGV[4]) < redis.call('HLEN', KEYS[3]) then return redis.error_reply('BB:BELOW') end
redis.call('HSET', KEYS[2], 'total', ARGV[4])
-- The total now supersedes a reduction scheduled for the next period.
redis.call('HDEL', KEYS[2], 'next')
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'licenses',
  'target', s[4], 'before', s[3], 'after', ARGV[4])
track_unused(KEYS[2])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or ARGV[4], 'EX', ARGV[1])
return {'new', ARGV[4]}
