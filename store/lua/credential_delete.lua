-- Deletes an organization's platform credential, with an audit entry when
-- there was one: a repeat (a second uninstall event) changes nothing.
-- KEYS: the credential, the audit stream. ARGV: actor, action, target.
-- Returns 1 when a credential was deleted, 0 when there was none.
if redis.call('DEL', KEYS[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'actor', ARGV[1], 'action', ARGV[2],
  'target', ARGV[3], 'before', '', 'after', '')
return 1
