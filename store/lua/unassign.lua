-- Takes licenses back from users, all or nothing.
-- KEYS: idem, sub, subUsers, audit, holds(user1), ..., holds(userN)
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, user1, ..., userN
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'id')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
local missing = {}
for i = 4, #ARGV do
  if redis.call('HEXISTS', KEYS[3], ARGV[i]) == 0 then missing[#missing + 1] = ARGV[i] end
end
if #missing > 0 then return redis.error_reply('BB:UNASSIGNED ' .. table.concat(missing, ',')) end
local before = redis.call('HLEN', KEYS[3])
local users = {}
for i = 4, #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('SREM', KEYS[5 + i - 4], s[2])
  users[#users + 1] = ARGV[i]
end
local after = redis.call('HLEN', KEYS[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'unassign ' .. table.concat(users, ','),
  'target', s[2], 'before', tostring(before), 'after', tostring(after))
track_unused(KEYS[2])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or tostring(after), 'EX', ARGV[1])
return {'new', tostring(after)}
