-- Sets an organization's policy of a catalog product, once; the same
-- policy again changes nothing.
-- KEYS: idem, settings, audit
-- ARGV: ttl, reply (what a repeat gets; '' for the policy before), actor, product, policy,
--       default (the catalog's, while no admin set one)
-- Returns {kind, value, before}: kind 'new', 'same' or 'dup' (a repeat: value is what the first recorded).
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup, ''} end
local field = 'policy:' .. ARGV[4]
local before = redis.call('HGET', KEYS[2], field) or ARGV[6]
if before == ARGV[5] then return {'same', before, before} end
redis.call('HSET', KEYS[2], field, ARGV[5])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'policy',
  'target', ARGV[4], 'before', before, 'after', ARGV[5])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or before, 'EX', ARGV[1])
return {'new', before, before}
