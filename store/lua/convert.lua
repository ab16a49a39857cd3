-- Converts a trial into a paid subscription, keeping its assignments.
-- KEYS: idem, sub, subUsers, audit, invoice, invoices, subsIndex (and take_policy's)
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, total, invoiceJSON, invoiceScore, invoiceID, field, value, ...
local allowed = take_policy()
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
if not allowed() then return redis.error_reply('BB:POLICY') end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'total')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if s[2] ~= 'trial' then return redis.error_reply('BB:NOTTRIAL') end
if tonumber(ARGV[4]) < redis.call('HLEN', KEYS[3]) then return redis.error_reply('BB:BELOW') end
redis.call('HSET', KEYS[2], 'total', ARGV[4])
for i = 8, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('SET', KEYS[5], ARGV[5])
redis.call('ZADD', KEYS[6], ARGV[6], ARGV[7])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'convert',
  'target', redis.call('HGET', KEYS[2], 'id'), 'before', 'trial ' .. s[3], 'after', 'active ' .. ARGV[4])
local id = redis.call('HGET', KEYS[2], 'id')
track_unused(KEYS[2])
indexSub(KEYS[7], KEYS[2], id) -- its purchase date is the conversion's
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or id, 'EX', ARGV[1])
return {'new', id}
