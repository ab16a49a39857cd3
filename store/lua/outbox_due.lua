-- Hands one sender the organizations whose outboxes are due for a look,
-- and moves their next look to later, so that the other senders do not
-- look at the same ones meanwhile. A change with a notification marks its
-- organization due at once (score 0); a sender that leaves work behind
-- brings the next look forward again.
-- KEYS: due
-- ARGV: now (ms), later (ms), max
local orgs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, org in ipairs(orgs) do
  redis.call('ZADD', KEYS[1], ARGV[2], org)
end
return orgs
