-- Decides a request for approval, once: the first decision wins.
-- KEYS: approval, approvals (its purchaser's open ones), audit, open (the organization's)
-- ARGV: decision, from (the status it must have), actor, actorName, now (unix s), reason, onlyPurchaser ('1': the actor must be the purchaser)
-- Returns {outcome, status, by, byName, at}: outcome 'new' (this decision
-- was made), 'decided' (another was made before: its status, who, when),
-- or 'expired' (still open, but past its expiry: nothing was written, the
-- expiry job tells the purchaser).
local a = redis.call('HMGET', KEYS[1], 'status', 'by', 'byname', 'at', 'expires', 'user', 'id')
if not a[1] then return redis.error_reply('BB:NOTFOUND') end
if ARGV[7] == '1' and a[6] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if a[1] ~= ARGV[2] then return {'decided', a[1], a[2] or '', a[3] or '', a[4] or ''} end
if a[1] == 'open' and ARGV[1] ~= 'expired' and tonumber(ARGV[5]) >= tonumber(a[5]) then
  return {'expired', a[1], '', '', a[5]}
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'by', ARGV[3], 'byname', ARGV[4], 'at', ARGV[5], 'reason', ARGV[6])
redis.call('ZREM', KEYS[2], a[7])
redis.call('ZREM', KEYS[4], a[7])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'approval-' .. ARGV[1],
  'target', a[7], 'before', a[1], 'after', ARGV[1])
emit()
return {'new', ARGV[1], ARGV[3], ARGV[4], ARGV[5]}
