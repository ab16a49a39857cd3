-- A change that is only a notification (a trial's reminder), made once.
-- KEYS: idem
-- ARGV: ttl
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
emit()
redis.call('SET', KEYS[1], 'sent', 'EX', ARGV[1])
return {'new', 'sent'}
