-- Schedules the total number of licenses for the next period (fewer than
-- now), or withdraws a scheduled reduction (next = 0). Licenses assigned
-- now never exceed the scheduled number: assign.lua counts it.
-- KEYS: idem, sub, subUsers, audit
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, next, expectedTotal, expectedNext
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'total', 'id', 'next')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if s[2] == 'trial' then return redis.error_reply('BB:NOTTRIAL') end
if s[2] ~= 'active' then return redis.error_reply('BB:NOTLIVE') end
local next = s[5] or ''
if next == '' then next = '0' end
if s[3] ~= ARGV[5] or next ~= ARGV[6] then return redis.error_reply('BB:STALE') end
local want = tonumber(ARGV[4])
if want >= tonumber(s[3]) then return redis.error_reply('BB:INVALID') end
if want > 0 then
  if want < redis.call('HLEN', KEYS[3]) then return redis.error_reply('BB:BELOW') end
  redis.call('HSET', KEYS[2], 'next', ARGV[4])
else
  redis.call('HDEL', KEYS[2], 'next')
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'licenses-next',
  'target', s[4], 'before', next, 'after', ARGV[4])
track_unused(KEYS[2])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or ARGV[4], 'EX', ARGV[1])
return {'new', ARGV[4]}
