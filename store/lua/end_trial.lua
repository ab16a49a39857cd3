-- Ends a running trial at once (its purchaser's "Cancel now"): it expires
-- now, and the people it is assigned to lose access with it. The trial's
-- later jobs (reminders, its end) then find nothing to do.
-- KEYS: idem, sub, audit
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, endedAt
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'id')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if s[2] ~= 'trial' then return redis.error_reply('BB:NOTTRIAL') end
redis.call('HSET', KEYS[2], 'status', 'expired', 'trial_end', ARGV[4], 'canceled', ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'end trial',
  'target', s[3], 'before', s[2], 'after', 'expired')
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or 'expired', 'EX', ARGV[1])
return {'new', 'expired'}
