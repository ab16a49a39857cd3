-- Records the outcome of an invoice's payment.
-- KEYS: invoice, audit
-- ARGV: document, id, before, after
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('BB:NOTFOUND') end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'actor', 'billing', 'action', 'invoice-status',
  'target', ARGV[2], 'before', ARGV[3], 'after', ARGV[4])
return 'OK'
