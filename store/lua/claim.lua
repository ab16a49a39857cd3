-- Claims due jobs for one replica: moves up to max members whose time has
-- come from the due set to the in-flight set with a lease. Jobs whose lease
-- ran out (their replica died) become due again first.
-- KEYS: due, inflight
-- ARGV: now, leaseUntil, max
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, m in ipairs(stale) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], ARGV[1], m)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], ARGV[2], m)
end
return due
