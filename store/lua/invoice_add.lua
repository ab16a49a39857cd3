-- Records an invoice that grants something once paid, for the purchaser of
-- a live subscription.
-- KEYS: idem, sub, audit, invoice, invoices (and take_policy's)
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, invoiceJSON, invoiceScore, invoiceID
local allowed = take_policy()
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
if not allowed() then return redis.error_reply('BB:POLICY') end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'id')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if s[2] ~= 'active' and s[2] ~= 'trial' then return redis.error_reply('BB:NOTLIVE') end
if redis.call('EXISTS', KEYS[4]) == 1 then return redis.error_reply('BB:INVALID') end
redis.call('SET', KEYS[4], ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'invoice',
  'target', s[3], 'before', '', 'after', ARGV[6])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or ARGV[6], 'EX', ARGV[1])
return {'new', ARGV[6]}
