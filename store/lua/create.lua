-- Creates a subscription (a purchase or a trial), with its first invoice.
-- KEYS: idem, sub, subs, bought, audit, invoice, invoices [, trial]
-- ARGV: ttl, actor, subID, invoiceJSON ('' for none), invoiceScore, invoiceID, field, value, ...
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('BB:INVALID') end
if KEYS[8] and not redis.call('SET', KEYS[8], ARGV[3], 'NX') then
  return redis.error_reply('BB:TRIALUSED')
end
for i = 7, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[6], ARGV[4])
  redis.call('ZADD', KEYS[7], ARGV[5], ARGV[6])
end
local what = 'buy'
if KEYS[8] then what = 'trial' end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[2], 'action', what,
  'target', ARGV[3], 'before', '', 'after', redis.call('HGET', KEYS[2], 'status') .. ' ' .. redis.call('HGET', KEYS[2], 'total'))
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[1])
return {'new', ARGV[3]}
