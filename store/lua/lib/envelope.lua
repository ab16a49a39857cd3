-- The envelope of every change (Store.change), prepended to its script.
-- After the script's own keys and arguments come the organization's outbox
-- (a key), and these arguments: the latest time the change may still
-- happen (Redis clock, milliseconds; 0: any time), the caller's time
-- (unix seconds), the key and body of
-- each notification the change causes, and how many there are (last).
-- They are taken off KEYS and ARGV here, so the script sees only its own.
local OUTBOX = table.remove(KEYS)
local NOTES = {}
for i = tonumber(table.remove(ARGV)), 1, -1 do
  local body = table.remove(ARGV)
  NOTES[i] = {table.remove(ARGV), body}
end
-- NOW is the caller's time (unix seconds; store.At), for what a change
-- records of when it happened (lib/unused.lua).
local NOW = tonumber(table.remove(ARGV))
local NOT_AFTER = tonumber(table.remove(ARGV))
-- A change that reaches Redis after its deadline (it was held up on the
-- way, and the caller has told the user that nothing was changed) does
-- nothing.
if NOT_AFTER > 0 then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > NOT_AFTER then
    return redis.error_reply('BB:LATE')
  end
end
-- emit adds the change's notifications to the outbox; a script calls it
-- when the change happens, so both are one atomic step. The first entry
-- makes the stream and the senders' consumer group.
local function emit()
  if #NOTES == 0 then return end
  if redis.call('EXISTS', OUTBOX) == 0 then
    redis.call('XGROUP', 'CREATE', OUTBOX, 'senders', '0', 'MKSTREAM')
  end
  for _, n in ipairs(NOTES) do
    redis.call('XADD', OUTBOX, '*', 'key', n[1], 'body', n[2], 'attempts', '0')
  end
end
-- take_policy takes the policy condition of a change that buys or tries
-- a product (Store's PolicyCheck) off the end of the script's own keys and
-- arguments: the settings key; the product ('' for none), its catalog
-- default and '1' for a trial. A script that takes one calls it first and
-- checks the function it returns, which reports whether the
-- organization's policy allows the change now.
local function take_policy()
  local trial, default, product = table.remove(ARGV), table.remove(ARGV), table.remove(ARGV)
  local settings = table.remove(KEYS)
  return function()
    if product == '' then return true end
    local p = redis.call('HGET', settings, 'policy:' .. product) or default
    return p == 'enabled' or (p == 'trials-only' and trial == '1')
  end
end
