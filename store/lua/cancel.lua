-- Cancels a subscription; the purchaser keeps it until the end of the period.
-- KEYS: idem, sub, audit
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, reason, comment, canceledAt
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'id')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if s[2] ~= 'trial' and s[2] ~= 'active' then return redis.error_reply('BB:NOTLIVE') end
redis.call('HSET', KEYS[2], 'status', 'canceled', 'reason', ARGV[4], 'comment', ARGV[5], 'canceled', ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'cancel ' .. ARGV[4],
  'target', s[3], 'before', s[2], 'after', 'canceled')
track_unused(KEYS[2])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or 'canceled', 'EX', ARGV[1])
return {'new', 'canceled'}
