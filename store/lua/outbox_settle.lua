-- Settles a notification a sender was handed: delivered ('done'), to be
-- tried again at a time ('retry'), or given up ('dead': it moves to the
-- dead letters, for an operator). It does nothing and returns 0 when the
-- entry is no longer this sender's: another sender claimed it meanwhile and
-- settles it itself.
-- KEYS: outbox, retry, dead
-- ARGV: group, consumer, id, how, at (retry: when, ms), why, attempts (failed ones, this one included)
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if not p[1] or p[1][2] ~= ARGV[2] then return 0 end
if ARGV[4] ~= 'done' then
  local e = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
  if e[1] then
    local f = {}
    for i = 1, #e[1][2], 2 do f[e[1][2][i]] = e[1][2][i + 1] end
    local at = f['at'] or string.match(ARGV[3], '^(%d+)')
    if ARGV[4] == 'retry' then
      redis.call('ZADD', KEYS[2], ARGV[5], cjson.encode({id = ARGV[3], key = f['key'], body = f['body'],
        attempts = ARGV[7], at = at, err = ARGV[6]}))
    else
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'key', f['key'], 'body', f['body'],
        'attempts', ARGV[7], 'at', at, 'err', ARGV[6])
    end
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return 1
