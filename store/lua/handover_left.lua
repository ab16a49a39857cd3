-- Records that a member left the organization, once: each live
-- subscription they bought waits for an admin's decision (handover
-- 'pending'), and the licenses they held are freed. The caller read what
-- they bought and held; when that changed meanwhile it fails with
-- BB:STALE (and reads again), so that the notifications it carries match
-- what is done.
-- KEYS: left, handovers, audit, bought(user), holds(user)
-- ARGV: user, at, prefix, nBought, id1, status1, ..., nHeld, id1, ...
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'dup', redis.call('HGET', KEYS[1], ARGV[1])} end
local i = 4
local nBought = tonumber(ARGV[i])
if redis.call('SCARD', KEYS[4]) ~= nBought then return redis.error_reply('BB:STALE') end
local bought = {}
for j = 1, nBought do
  local id, status = ARGV[i + 2 * j - 1], ARGV[i + 2 * j]
  if redis.call('SISMEMBER', KEYS[4], id) == 0 or (redis.call('HGET', ARGV[3] .. 'sub:' .. id, 'status') or '') ~= status then
    return redis.error_reply('BB:STALE')
  end
  bought[#bought + 1] = {id, status}
end
i = i + 2 * nBought + 1
local nHeld = tonumber(ARGV[i])
if redis.call('SCARD', KEYS[5]) ~= nHeld then return redis.error_reply('BB:STALE') end
for j = 1, nHeld do
  if redis.call('SISMEMBER', KEYS[5], ARGV[i + j]) == 0 then return redis.error_reply('BB:STALE') end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for _, b in ipairs(bought) do
  if b[2] == 'active' or b[2] == 'trial' then
    local sub = ARGV[3] .. 'sub:' .. b[1]
    redis.call('HSET', sub, 'handover', 'pending', 'handover_at', ARGV[2])
    redis.call('HDEL', sub, 'handover_by', 'handover_by_name')
    redis.call('SADD', KEYS[2], b[1])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', 'platform', 'action', 'handover-ask ' .. ARGV[1],
      'target', b[1], 'before', '', 'after', 'pending')
  end
end
for j = 1, nHeld do
  local id = ARGV[i + j]
  local users = ARGV[3] .. 'sub:' .. id .. ':users'
  local before = redis.call('HLEN', users)
  redis.call('HDEL', users, ARGV[1])
  track_unused(ARGV[3] .. 'sub:' .. id)
  redis.call('SREM', KEYS[5], id)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', 'platform', 'action', 'unassign ' .. ARGV[1],
    'target', id, 'before', tostring(before), 'after', tostring(redis.call('HLEN', users)))
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', 'platform', 'action', 'member-left',
  'target', ARGV[1], 'before', 'member', 'after', 'left')
emit()
return {'new', ARGV[2]}
