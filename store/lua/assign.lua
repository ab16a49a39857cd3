-- Assigns licenses to users, all or nothing.
-- KEYS: idem, sub, subUsers, audit, holds(user1), ..., holds(userN)
-- ARGV: ttl, reply (what a repeat gets; '' for the result), actor, user1, name1, ..., userN, nameN
local dup = redis.call('GET', KEYS[1])
if dup then return {'dup', dup} end
local s = redis.call('HMGET', KEYS[2], 'buyer', 'status', 'total', 'id', 'next')
if not s[1] then return redis.error_reply('BB:NOTFOUND') end
if s[1] ~= ARGV[3] then return redis.error_reply('BB:PERMISSION') end
if s[2] ~= 'trial' and s[2] ~= 'active' then return redis.error_reply('BB:NOTLIVE') end
local taken = {}
for i = 4, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[3], ARGV[i]) == 1 then taken[#taken + 1] = ARGV[i] end
end
if #taken > 0 then return redis.error_reply('BB:ASSIGNED ' .. table.concat(taken, ',')) end
local n = (#ARGV - 3) / 2
local before = redis.call('HLEN', KEYS[3])
-- A reduction scheduled for the next period caps the licenses in use now.
local cap = tonumber(s[3])
if s[5] and s[5] ~= '' and tonumber(s[5]) < cap then cap = tonumber(s[5]) end
if cap - before < n then return redis.error_reply('BB:NOFREE') end
local users = {}
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('SADD', KEYS[5 + (i - 4) / 2], s[4])
  users[#users + 1] = ARGV[i]
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[3], 'action', 'assign ' .. table.concat(users, ','),
  'target', s[4], 'before', tostring(before), 'after', tostring(before + n))
track_unused(KEYS[2])
emit()
redis.call('SET', KEYS[1], ARGV[2] ~= '' and ARGV[2] or tostring(before + n), 'EX', ARGV[1])
return {'new', tostring(before + n)}
