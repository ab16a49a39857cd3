-- Applies a due job to a subscription if it still applies: a trial's end or
-- the end of a period (renewal of an active subscription, expiry of a
-- canceled one). Returns the action taken, or '' when the job was stale.
-- An expiry emits the change's notification; a renewal tells nobody.
-- KEYS: sub, audit, invoice, invoices, handovers
-- A renewal applies a reduction scheduled for the next period (the field
-- 'next'); quantity is the total the renewal's invoice bills, and the
-- renewal fails with BB:STALE when the subscription's total for the new
-- period is another (changed since it was read).
-- ARGV: kind, due, nextRenews, invoiceJSON, invoiceScore, invoiceID, quantity
-- A subscription whose handover waits for an admin (its purchaser left)
-- does not renew: 'wait' (handover.go); one that ends (a trial) leaves the
-- pending handovers, as nothing is left to take over.
local s = redis.call('HMGET', KEYS[1], 'status', 'trial_end', 'renews', 'id', 'total', 'next', 'handover')
if not s[1] then return '' end
local action = ''
if ARGV[1] == 'trial-end' then
  if s[1] == 'trial' and s[2] == ARGV[2] then action = 'expire' end
  if s[1] == 'canceled' and s[2] == ARGV[2] and (not s[3] or s[3] == '') then action = 'expire' end
elseif ARGV[1] == 'renewal' and s[3] == ARGV[2] then
  if s[1] == 'active' and s[7] == 'pending' then return 'wait' end
  if s[1] == 'active' then action = 'renew' end
  if s[1] == 'canceled' then action = 'expire' end
end
if action == 'expire' then
  redis.call('HSET', KEYS[1], 'status', 'expired')
  if s[7] == 'pending' then
    redis.call('HSET', KEYS[1], 'handover', 'lapsed')
    redis.call('SREM', KEYS[5], s[4])
  end
  emit()
elseif action == 'renew' then
  local total = s[5]
  if s[6] and s[6] ~= '' then total = s[6] end
  if ARGV[7] ~= '' and ARGV[7] ~= total then return redis.error_reply('BB:STALE') end
  redis.call('HSET', KEYS[1], 'renews', ARGV[3], 'total', total)
  redis.call('HDEL', KEYS[1], 'next')
  if ARGV[4] ~= '' then
    redis.call('SET', KEYS[3], ARGV[4])
    redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
  end
else
  return ''
end
track_unused(KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'actor', 'scheduler', 'action', action,
  'target', s[4], 'before', s[1], 'after', redis.call('HGET', KEYS[1], 'status'))
return action
