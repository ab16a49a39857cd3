-- An admin decides the handover of a subscription whose purchaser left:
-- 'take' makes the admin its purchaser and payer (profile, method), and
-- 'cancel' cancels it at the end of its period. The first decision wins:
-- a later one fails with BB:DECIDED naming who decided.
-- KEYS: idem, sub, handovers, audit, bought(admin)
-- ARGV: ttl, reply, admin, adminName, decision, profile, method, at, prefix
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local s = redis.call('HMGET', KEYS[2], 'id', 'status', 'buyer', 'handover', 'handover_by')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[4] == 'taken' or s[4] == 'canceled' then return redis.error_reply('BB:DECIDED ' .. (s[5] or '')) end
if s[4] ~= 'pending' then return redis.error_reply('BB:STALE') end
if s[2] ~= 'active' and s[2] ~= 'trial' then return redis.error_reply('BB:NOTLIVE') end
local after
if ARGV[5] == 'take' then
  redis.call('HSET', KEYS[2], 'buyer', ARGV[3], 'buyer_name', ARGV[4], 'handover', 'taken')
  if s[2] == 'active' then redis.call('HSET', KEYS[2], 'profile', ARGV[6], 'method', ARGV[7]) end
  redis.call('SREM', ARGV[9] .. 'user:' .. s[3] .. ':bought', s[1])
  redis.call('SADD', KEYS[5], s[1])
  after = ARGV[3]
else
  redis.call('HSET', KEYS[2], 'status', 'canceled', 'reason', 'other', 'comment', '', 'canceled', ARGV[8], 'handover', 'canceled')
  track_unused(KEYS[2])
  after = 'canceled'
end
redis.call('HSET', KEYS[2], 'handover_by', ARGV[3], 'handover_by_name', ARGV[4])
redis.call('SREM', KEYS[3], s[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'handover-' .. ARGV[5],
  'target', s[1], 'before', s[3], 'after', after)
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or ARGV[5], 'EX', ARGV[1])
return {'new', ARGV[5]}
