-- Reads what a command needs about one user in one round trip.
-- Every key it reads lies in the organization's hash slot.
-- KEYS: prefs, settings, billing, bought, holds, subs, invoices, idem (of a change the request may repeat), rate,
--       and only with subs 'org': subsIndex (the organization's self-service subscriptions by purchase date),
--       subsIndexBuilt, openApprovals (the organization's open requests for approval), handovers (its
--       subscriptions whose handover waits): both counted with a page of the index
-- ARGV: prefix, subs ('all': every subscription of the organization; 'org': one page of the index;
--       'page': one page of the user's; else all of the user's), invFrom, invTo ('' for none), invMax,
--       rate (requests per minute: count this request in the user's rate key; 0: do not), now (ms),
--       page (1-based; beyond the last: the last), size, selfServiceOnly ('1'), invPage (0: the first invMax - 1, not paged),
--       product...
local out = {}
out[1] = redis.call('HGETALL', KEYS[1])
out[2] = redis.call('HGETALL', KEYS[2])
out[3] = redis.call('HGET', KEYS[3], 'doc')
local ids
local total, page, hidden = 0, 1, 0
local size = tonumber(ARGV[9])
-- clamp turns the page asked for into one that exists.
local function clamp()
  local pages = math.max(1, math.ceil(total / size))
  page = math.min(math.max(tonumber(ARGV[8]), 1), pages)
end
if ARGV[2] == 'all' then
  ids = redis.call('SMEMBERS', KEYS[6])
elseif ARGV[2] == 'org' then
  -- The index is built from the subscriptions set once, for data from
  -- before it existed; the scripts that change the set keep it since.
  if redis.call('EXISTS', KEYS[11]) == 0 then
    for _, id in ipairs(redis.call('SMEMBERS', KEYS[6])) do
      indexSub(KEYS[10], ARGV[1] .. 'sub:' .. id, id)
    end
    redis.call('SET', KEYS[11], '1')
  end
  total = redis.call('ZCARD', KEYS[10])
  clamp()
  ids = redis.call('ZRANGE', KEYS[10], (page - 1) * size, page * size - 1)
elseif ARGV[2] == 'page' then
  -- The user's own are few next to the organization's: their dates are
  -- read to sort them, and only the page's subscriptions in full.
  local rows = {}
  for _, id in ipairs(redis.call('SUNION', KEYS[4], KEYS[5])) do
    local f = redis.call('HMGET', ARGV[1] .. 'sub:' .. id, 'id', 'ss', 'purchased')
    if f[1] then
      if ARGV[10] == '1' and f[2] ~= '1' then
        hidden = hidden + 1
      else
        rows[#rows + 1] = {id, tonumber(f[3]) or 0}
      end
    end
  end
  table.sort(rows, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return a[1] < b[1]
  end)
  total = #rows
  clamp()
  ids = {}
  for i = (page - 1) * size + 1, math.min(page * size, total) do ids[#ids + 1] = rows[i][1] end
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
local invTotal, invPage = 0, 0
if ARGV[3] ~= '' then
  local offset = 0
  local per = tonumber(ARGV[5]) - 1
  if tonumber(ARGV[11]) > 1 then
    -- One page of the range (of invMax - 1 invoices): the page asked
    -- for, or the last one when the range has fewer.
    invTotal = redis.call('ZCOUNT', KEYS[7], ARGV[3], ARGV[4])
    invPage = math.min(tonumber(ARGV[11]), math.max(1, math.ceil(invTotal / per)))
    offset = (invPage - 1) * per
  end
  local invIDs = redis.call('ZREVRANGEBYSCORE', KEYS[7], ARGV[4], ARGV[3], 'LIMIT', offset, ARGV[5])
  if tonumber(ARGV[11]) == 1 then
    -- The first page, as most ask for: the range is counted only when it
    -- has more than the page.
    invPage, invTotal = 1, #invIDs
    if invTotal > per then invTotal = redis.call('ZCOUNT', KEYS[7], ARGV[3], ARGV[4]) end
  end
  for _, id in ipairs(invIDs) do
    local doc = redis.call('GET', ARGV[1] .. 'invoice:' .. id)
    if doc then inv[#inv + 1] = doc end
  end
end
out[5] = inv
local trials = {}
for i = 12, #ARGV do
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
  local held = tonumber(redis.call('GET', KEYS[9]) or '')
  local tat = held or now
  if tat < now then tat = now end
  local nextTat = tat + interval
  local n = math.ceil((nextTat - now) / interval - 1e-6)
  if n <= rate then
    -- What the key holds matters until it has passed, at most a minute
    -- ahead: the key lives at least that long after each write, and is
    -- written in place (a SET with an expiry costs three times as much).
    if held then
      redis.call('SET', KEYS[9], string.format('%.3f', nextTat), 'KEEPTTL')
      if redis.call('PTTL', KEYS[9]) < 60000 then redis.call('PEXPIRE', KEYS[9], 120000) end
    else
      redis.call('SET', KEYS[9], string.format('%.3f', nextTat), 'PX', 120000)
    end
  end
  out[8] = n
end
local open, handovers = 0, 0
if ARGV[2] == 'org' then
  open, handovers = redis.call('ZCARD', KEYS[12]), redis.call('SCARD', KEYS[13])
end
out[9] = {total, page, hidden, invTotal, invPage, open, handovers}
return out
