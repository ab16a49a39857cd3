-- Records that a purchaser is told of their subscription's unused licenses
-- (and adds that notification to the outbox), unless they were told within
-- the last 'every' seconds: two replicas running the same check tell once.
-- The licenses counted are those free continuously since cutoff
-- (lib/unused.lua); the caller's count must be the same (BB:STALE: it
-- read the subscription before a change).
-- Returns the number told of, or 0 when nothing was to tell.
-- KEYS: sub, audit
-- ARGV: cutoff (unix seconds), every (seconds), count
local s = redis.call('HMGET', KEYS[1], 'status', 'free_since', 'unused_told', 'id', 'price')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= 'active' or (tonumber(s[5]) or 0) <= 0 then return 0 end
if s[3] and tonumber(s[3]) > NOW - tonumber(ARGV[2]) then return 0 end
local count = 0
for n, t in string.gmatch(s[2] or '', '(%d+):(%d+)') do
  if tonumber(t) > tonumber(ARGV[1]) then break end
  count = tonumber(n)
end
if count == 0 then return 0 end
if count ~= tonumber(ARGV[3]) then return redis.error_reply('BB:STALE') end
redis.call('HSET', KEYS[1], 'unused_told', tostring(NOW))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'actor', 'scheduler', 'action', 'unused-told',
  'target', s[4], 'before', s[3] or '', 'after', tostring(count))
emit()
return count
