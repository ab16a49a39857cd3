-- Reads what a command needs about one user in one round trip.
-- Every key it reads lies in the organization's hash slot.
-- KEYS: prefs, settings, billing, bought, holds, subs, invoices, idem (of a change the request may repeat), rate
-- ARGV: prefix, all (1: every subscription of the organization), invFrom, invTo ('' for none), invMax,
--       rate (requests per minute: count this request in the user's rate key; 0: do not), now (ms),
--       product...
local out = {}
out[1] = redis.call('HGETALL', KEYS[1])
out[2] = redis.call('HGETALL', KEYS[2])
out[3] = redis.call('HGET', KEYS[3], 'doc')
local ids
if ARGV[2] == '1' then
  ids = redis.call('SMEMBERS', KEYS[6])
else
  ids = redis.call('SUNION', KEYS[4], KEYS[5])
end
local subs = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', ARGV[1] .. 'sub:' .. id)
  if #h > 0 then
    -- The people holding licenses: all of them up to 25 (MaxListed), else a
    -- sample of 25 (a subscription may have 10,000; no answer lists them all).
    local usersKey = ARGV[1] .. 'sub:' .. id .. ':users'
    local n = redis.call('HLEN', usersKey)
    local users
    if n <= 25 then
      users = redis.call('HGETALL', usersKey)
    else
      users = redis.call('HRANDFIELD', usersKey, 25, 'WITHVALUES')
    end
    subs[#subs + 1] = {h, users, n}
  end
end
out[4] = subs
local inv = {}
if ARGV[3] ~= '' then
  local invIDs = redis.call('ZREVRANGEBYSCORE', KEYS[7], ARGV[4], ARGV[3], 'LIMIT', 0, ARGV[5])
  for _, id in ipairs(invIDs) do
    local doc = redis.call('GET', ARGV[1] .. 'invoice:' .. id)
    if doc then inv[#inv + 1] = doc end
  end
end
out[5] = inv
local trials = {}
for i = 8, #ARGV do
  trials[#trials + 1] = redis.call('GET', ARGV[1] .. 'trial:' .. ARGV[i]) or ''
end
out[6] = trials
out[7] = redis.call('GET', KEYS[8]) or ''
-- The rate limit, a sliding minute (GCRA): the rate key holds the user's
-- theoretical arrival time (ms), when their requests so far would have
-- been spent at the rate; each request moves it on by one interval.
-- How far it is ahead of now, in intervals, is how many requests the last
-- minute holds, this one included: up to rate, the request counts; beyond,
-- it is refused and moves nothing. A user steadily at the rate is never
-- refused; a burst of rate requests leaves room for one more per interval.
out[8] = 0
local rate = tonumber(ARGV[6])
if rate > 0 then
  local now = tonumber(ARGV[7])
  local interval = 60000 / rate
  local tat = tonumber(redis.call('GET', KEYS[9]) or '') or now
  if tat < now then tat = now end
  local nextTat = tat + interval
  local n = math.ceil((nextTat - now) / interval - 1e-6)
  if n <= rate then
    redis.call('SET', KEYS[9], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + 1)
  end
  out[8] = n
end
return out
