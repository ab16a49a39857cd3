-- Records that a member who left is back: the handovers of their
-- subscriptions that no admin decided are withdrawn (the subscriptions
-- are theirs again, and renew as before). Licenses freed when they left
-- stay free. The caller read which handovers were pending; when that
-- changed meanwhile it fails with BB:STALE.
-- KEYS: left, handovers, audit, bought(user)
-- ARGV: user, prefix, id1, ..., idN (the pending handovers as read)
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {'dup', ''} end
local pending = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if redis.call('HGET', ARGV[2] .. 'sub:' .. id, 'handover') == 'pending' then pending[id] = true end
end
local n = 0
for _ in pairs(pending) do n = n + 1 end
if n ~= #ARGV - 2 then return redis.error_reply('BB:STALE') end
for i = 3, #ARGV do
  if not pending[ARGV[i]] then return redis.error_reply('BB:STALE') end
end
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 3, #ARGV do
  redis.call('HSET', ARGV[2] .. 'sub:' .. ARGV[i], 'handover', 'withdrawn')
  redis.call('SREM', KEYS[2], ARGV[i])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', 'platform', 'action', 'handover-withdrawn ' .. ARGV[1],
    'target', ARGV[i], 'before', 'pending', 'after', 'withdrawn')
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', 'platform', 'action', 'member-back',
  'target', ARGV[1], 'before', 'left', 'after', 'member')
emit()
return {'new', tostring(#ARGV - 2)}
