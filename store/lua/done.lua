-- Marks a claimed job finished, if the claim is still the caller's: its
-- lease is the one the caller was given (a job whose lease ran out and
-- that another replica claimed again has a later one).
-- KEYS: inflight
-- ARGV: member, lease
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if lease and tonumber(lease) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
