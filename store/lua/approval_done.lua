-- Records that an approved request's change was made, so that a later
-- click on Approve makes nothing (the change's own idempotency record
-- lasts a day only). A request that is not there is left alone.
-- KEYS: approval
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'done', '1') end
return 1
