-- Records where an invoice's payment stands, if the invoice still has the
-- status the caller read (so that two replicas, or two reports of one
-- outcome, record it once), and applies what the payment grants. Returns 1
-- when recorded, 0 when the status had changed meanwhile. Emits the
-- outcome's notifications.
-- KEYS: invoice, audit, sub, subUsers, subs, bought, subsIndex
-- ARGV: document, id, before, after, grantKind ('' for none), added, field, value, ...
local doc = redis.call('GET', KEYS[1])
if not doc then return redis.error_reply('BB:NOTFOUND') end
if cjson.decode(doc)['status'] ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
local grant, after = ARGV[5], ARGV[4]
local status = grant ~= '' and redis.call('HGET', KEYS[3], 'status')
if status then
  local id = redis.call('HGET', KEYS[3], 'id')
  if after == 'paid' then
    if grant == 'purchase' and (status == 'pending' or status == 'declined') then
      redis.call('HSET', KEYS[3], 'status', 'active')
      redis.call('SADD', KEYS[5], id)
      redis.call('SADD', KEYS[6], id)
      indexSub(KEYS[7], KEYS[3], id)
    elseif grant == 'conversion' and (status == 'trial' or status == 'expired') then
      for i = 7, #ARGV, 2 do
        redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
      end
      indexSub(KEYS[7], KEYS[3], id)
      -- Never fewer licenses than are assigned.
      local held = redis.call('HLEN', KEYS[4])
      if tonumber(redis.call('HGET', KEYS[3], 'total')) < held then
        redis.call('HSET', KEYS[3], 'total', held)
      end
    elseif grant == 'licenses' and (status == 'active' or status == 'canceled') then
      redis.call('HINCRBY', KEYS[3], 'total', tonumber(ARGV[6]))
      -- More licenses withdraw a reduction scheduled for the next period.
      redis.call('HDEL', KEYS[3], 'next')
    end
  elseif (after == 'failed' or after == 'void') and grant == 'purchase' and status == 'pending' then
    redis.call('HSET', KEYS[3], 'status', 'declined')
    redis.call('SREM', KEYS[5], id)
    redis.call('SREM', KEYS[6], id)
    redis.call('ZREM', KEYS[7], id)
  end
  track_unused(KEYS[3])
end
if ARGV[3] ~= after then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'actor', 'billing', 'action', 'invoice-status',
    'target', ARGV[2], 'before', ARGV[3], 'after', after)
end
emit()
return 1
