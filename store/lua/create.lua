-- Creates a subscription (a purchase or a trial), with its first invoice.
-- KEYS: idem, sub, subs, bought, audit, invoice, invoices, subsIndex [, trial] (and take_policy's)
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, subID, invoiceJSON ('' for none), invoiceScore, invoiceID, field, value, ...
local allowed = take_policy()
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
if not allowed() then return redis.error_reply('BB:POLICY') end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('BB:INVALID') end
if KEYS[9] and not redis.call('SET', KEYS[9], ARGV[4], 'NX') then
  return redis.error_reply('BB:TRIALUSED')
end
for i = 8, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[4])
indexSub(KEYS[8], KEYS[2], ARGV[4])
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[6], ARGV[5])
  redis.call('ZADD', KEYS[7], ARGV[6], ARGV[7])
end
local what = 'buy'
if KEYS[9] then what = 'trial' end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', what,
  'target', ARGV[4], 'before', '', 'after', redis.call('HGET', KEYS[2], 'status') .. ' ' .. redis.call('HGET', KEYS[2], 'total'))
track_unused(KEYS[2])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or ARGV[4], 'EX', ARGV[1])
return {'new', ARGV[4]}
