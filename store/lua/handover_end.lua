-- Ends a handover that no admin decided: a subscription still live whose
-- period ended at 'renews' (as read) expires, with the change's
-- notification; one no longer live (a trial that ended) only leaves the
-- list of pending handovers. Returns 'expire', 'closed' or '' (decided
-- or withdrawn meanwhile: nothing to do).
-- KEYS: sub, handovers, audit
-- ARGV: renews (unix seconds, as read)
local s = redis.call('HMGET', KEYS[1], 'id', 'status', 'renews', 'handover')
if not s[1] or s[4] ~= 'pending' then return '' end
if s[2] == 'active' or s[2] == 'trial' then
  if s[3] ~= ARGV[1] then return '' end
  redis.call('HSET', KEYS[1], 'status', 'expired', 'handover', 'lapsed')
  track_unused(KEYS[1])
  redis.call('SREM', KEYS[2], s[1])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', 'scheduler', 'action', 'handover-lapse',
    'target', s[1], 'before', s[2], 'after', 'expired')
  emit()
  return 'expire'
end
redis.call('HSET', KEYS[1], 'handover', 'lapsed')
redis.call('SREM', KEYS[2], s[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', 'scheduler', 'action', 'handover-close',
  'target', s[1], 'before', s[2], 'after', s[2])
return 'closed'
