-- Puts dead letters back into the outbox with their attempts reset, for an
-- operator who has fixed what made them fail.
-- KEYS: dead, outbox
-- ARGV: group, max, id... (no ids: the oldest max dead letters)
-- Returns how many went back.
local entries = {}
if #ARGV == 2 then
  entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])
else
  for i = 3, #ARGV do
    local e = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
    if e[1] then entries[#entries + 1] = e[1] end
  end
end
if #entries > 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[1], '0', 'MKSTREAM')
end
for _, e in ipairs(entries) do
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  redis.call('XADD', KEYS[2], '*', 'key', f['key'], 'body', f['body'], 'attempts', '0', 'at', f['at'])
  redis.call('XDEL', KEYS[1], e[1])
end
return #entries
