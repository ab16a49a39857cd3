-- Records the outcome of an invoice's payment, if the invoice still has the
-- status the caller read (so that two replicas that both charged it record
-- one outcome and notify once). Returns 1 when recorded, 0 when the status
-- had changed meanwhile. A failed payment emits the change's notification.
-- KEYS: invoice, audit
-- ARGV: document, id, before, after
local doc = redis.call('GET', KEYS[1])
if not doc then return redis.error_reply('BB:NOTFOUND') end
if cjson.decode(doc)['status'] ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'actor', 'billing', 'action', 'invoice-status',
  'target', ARGV[2], 'before', ARGV[3], 'after', ARGV[4])
emit()
return 1
