-- Records a purchase (or a license increase) that waits for an admin's
-- decision: the request, and the purchaser's list of open requests.
-- KEYS: idem, approval, approvals (the purchaser's open ones), audit, open (the organization's)
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, id, createdScore, after, field, value, ...
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('BB:INVALID') end
for i = 7, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[4])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'approval-request',
  'target', ARGV[4], 'before', '', 'after', ARGV[6])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or ARGV[4], 'EX', ARGV[1])
return {'new', ARGV[4]}
