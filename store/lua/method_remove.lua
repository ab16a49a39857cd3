-- Removes a payment method: saves the billing document without it, if
-- nobody changed the document meanwhile, and switches the user's
-- subscriptions paid with it to another method of the same profile, in
-- one step. Without another method it refuses while a live paid
-- subscription (active or pending) is paid with it.
-- KEYS: idem, billing, audit, bought
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, expectedVersion, newVersion, document,
--       method, replacement ('' for none), prefix
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local v = redis.call('HGET', KEYS[2], 'v') or '0'
if v ~= ARGV[4] then return redis.error_reply('BB:STALE') end
local paid = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local key = ARGV[9] .. 'sub:' .. id
  local s = redis.call('HMGET', key, 'method', 'status')
  if s[1] == ARGV[7] then
    if ARGV[8] == '' and (s[2] == 'active' or s[2] == 'pending') then
      return redis.error_reply('BB:INUSE')
    end
    paid[#paid + 1] = id
  end
end
redis.call('HSET', KEYS[2], 'v', ARGV[5], 'doc', ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'payment-remove ' .. ARGV[7],
  'target', 'billing', 'before', v, 'after', ARGV[5])
local switched = {}
if ARGV[8] ~= '' then
  table.sort(paid)
  for _, id in ipairs(paid) do
    redis.call('HSET', ARGV[9] .. 'sub:' .. id, 'method', ARGV[8])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'payment-switch',
      'target', id, 'before', ARGV[7], 'after', ARGV[8])
    switched[#switched + 1] = id
  end
end
emit()
local result = table.concat(switched, ' ')
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or result, 'EX', ARGV[1])
return {'new', result}
