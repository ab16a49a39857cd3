-- Uses a payment link up and saves the billing document with the method it
-- added, in one step. A link used before answers as the first time did.
-- KEYS: link, billing, audit
-- ARGV: actor, expectedVersion, newVersion, document, what, methodID
local link = redis.call('HMGET', KEYS[1], 'state', 'method')
if not link[1] then return redis.error_reply('BB:NOTFOUND') end
if link[1] == 'done' then return {'dup', link[2]} end
local v = redis.call('HGET', KEYS[2], 'v') or '0'
if v ~= ARGV[2] then return redis.error_reply('BB:STALE') end
redis.call('HSET', KEYS[2], 'v', ARGV[3], 'doc', ARGV[4])
redis.call('HSET', KEYS[1], 'state', 'done', 'method', ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[1], 'action', ARGV[5],
  'target', 'billing', 'before', v, 'after', ARGV[3])
emit()
return {'new', ARGV[6]}
