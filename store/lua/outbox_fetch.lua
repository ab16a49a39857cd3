-- Hands a sender (a consumer of the senders' group) an organization's
-- notifications: first those another sender has held for longer than
-- minIdle (it died, or hangs), then new ones. Retries whose time has come
-- go back into the outbox first. Senders that hold nothing and have been
-- idle for an hour are forgotten.
-- KEYS: outbox, retry
-- ARGV: group, consumer, minIdle (ms), count, now (ms)
-- Returns {entries, backlog, oldest (ms; 0: none), next retry (ms; 0: none)};
-- an entry is {id, {field, value, ...}, deliveries}.
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5], 'LIMIT', 0, ARGV[4])
for _, m in ipairs(due) do
  local e = cjson.decode(m)
  redis.call('XADD', KEYS[1], '*', 'key', e.key, 'body', e.body, 'attempts', e.attempts, 'at', e.at, 'err', e.err)
  redis.call('ZREM', KEYS[2], m)
end
local entries = {}
if redis.call('EXISTS', KEYS[1]) == 1 then
  local claimed = redis.pcall('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
  if type(claimed) == 'table' and claimed.err then
    -- The stream lost its group (it was deleted and made again by hand).
    redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0')
    claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
  end
  for _, e in ipairs(claimed[2]) do
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    entries[#entries + 1] = {e[1], e[2], p[1] and p[1][4] or 2}
  end
  local new = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
  if new then
    for _, e in ipairs(new[1][2]) do
      entries[#entries + 1] = {e[1], e[2], 1}
    end
  end
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local f = {}
    for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
    if f['name'] ~= ARGV[2] and tonumber(f['pending']) == 0 and tonumber(f['idle']) > 3600000 then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    end
  end
end
local oldest = 0
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if first[1] then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
local nextRetry = 0
local r = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if r[1] then
  nextRetry = tonumber(r[2])
  local at = tonumber(cjson.decode(r[1]).at)
  if at and (oldest == 0 or at < oldest) then oldest = at end
end
return {entries, redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]), oldest, nextRetry}
