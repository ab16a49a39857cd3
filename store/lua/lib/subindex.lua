-- indexSub keeps a subscription's place in the organization's index of
-- self-service subscriptions (a sorted set by purchase date, newest first:
-- the score is minus the date, and equal dates sort by id), which the
-- admin view reads one page at a time. Others are not in it.
local function indexSub(index, sub, id)
  local f = redis.call('HMGET', sub, 'ss', 'purchased')
  if f[1] == '1' then redis.call('ZADD', index, -(tonumber(f[2]) or 0), id) end
end
