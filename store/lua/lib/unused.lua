-- track_unused keeps, in a subscription's field 'free_since', since when it
-- has had how many free licenses without a break, for the reminders of
-- unused licenses (store/unused.go). The field is a list "n1:t1,n2:t2,…"
-- with n1 < n2 < …: at least n_i licenses have been free since t_i (unix
-- seconds), continuously; the last n is the number free now. Only an
-- active subscription's licenses count (paid for): any other status clears
-- the list. A change that can alter the number free calls it after
-- changing: more free licenses start a new level now; fewer cut the levels
-- above, keeping the time of the lowest they cut.
local function track_unused(sub)
  local s = redis.call('HMGET', sub, 'status', 'total', 'next', 'free_since')
  local free = 0
  if s[1] == 'active' then
    local usable = tonumber(s[2]) or 0
    local nxt = tonumber(s[3] or '')
    if nxt and nxt > 0 and nxt < usable then usable = nxt end
    free = usable - redis.call('HLEN', sub .. ':users')
  end
  if free <= 0 then
    if s[4] then redis.call('HDEL', sub, 'free_since') end
    return
  end
  local levels = {}
  for n, t in string.gmatch(s[4] or '', '(%d+):(%d+)') do
    levels[#levels + 1] = {tonumber(n), t}
  end
  local cur = 0
  if #levels > 0 then cur = levels[#levels][1] end
  if free == cur then return end
  if free > cur then
    levels[#levels + 1] = {free, tostring(NOW)}
  else
    local kept = {}
    for _, l in ipairs(levels) do
      if l[1] < free then
        kept[#kept + 1] = l
      else
        kept[#kept + 1] = {free, l[2]}
        break
      end
    end
    levels = kept
  end
  local parts = {}
  for i, l in ipairs(levels) do parts[i] = l[1] .. ':' .. l[2] end
  redis.call('HSET', sub, 'free_since', table.concat(parts, ','))
end
