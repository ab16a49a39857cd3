-- Asks for one more reminder of a running trial (its purchaser's "Remind
-- me tomorrow"): records when it comes, unless one asked for earlier is
-- still to come, whose time it returns instead. The caller schedules the
-- reminder job for the returned time (adding a job twice keeps one).
-- KEYS: remind, sub, audit
-- ARGV: actor, at (unix seconds), now (unix seconds), ttlMs
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'id')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[1] then return redis.error_reply('BB:PERMISSION') end
if s[2] ~= 'trial' then return redis.error_reply('BB:NOTTRIAL') end
local prev = redis.call('GET', KEYS[1])
if prev and tonumber(prev) > tonumber(ARGV[3]) then return {'dup', prev} end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[1], 'action', 'remind ' .. ARGV[2],
  'target', s[3], 'before', s[2], 'after', s[2])
return {'new', ARGV[2]}
