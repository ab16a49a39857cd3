-- Reads one page of an organization's audit stream, optionally only the
-- entries by or about one person, in a bounded number of steps.
-- KEYS: audit
-- ARGV: direction ('rev': newest first from hi; 'fwd': oldest first from
-- lo), hi, lo (stream ids as XRANGE takes them, '(' for exclusive), how
-- many matches to collect, person ('' for everyone), most entries to scan.
-- Returns {stopped, last scanned id, entry, ...}: stopped is 1 when the
-- scan limit ended the read before the stream's end or the wanted count
-- (more may match beyond the last scanned id), each entry {id, {field,
-- value, ...}} as XRANGE gives it.
local rev = ARGV[1] == 'rev'
local hi, lo = ARGV[2], ARGV[3]
local want, person, most = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local out = {0, ''}
local found, scanned = 0, 0

local function matches(f)
  if person == '' then return true end
  local action = ''
  for i = 1, #f, 2 do
    if (f[i] == 'actor' or f[i] == 'target') and f[i + 1] == person then return true end
    if f[i] == 'action' then action = f[i + 1] end
  end
  -- "assign U1,U2": the people an action names after its verb
  local rest = string.match(action, '^%S+ (.*)$')
  return rest ~= nil and string.find(',' .. rest .. ',', ',' .. person .. ',', 1, true) ~= nil
end

while found < want and scanned < most do
  local chunk = math.min(200, most - scanned)
  if person == '' then chunk = math.min(chunk, want - found) end
  local batch
  if rev then
    batch = redis.call('XREVRANGE', KEYS[1], hi, lo, 'COUNT', chunk)
  else
    batch = redis.call('XRANGE', KEYS[1], lo, hi, 'COUNT', chunk)
  end
  for _, e in ipairs(batch) do
    scanned = scanned + 1
    out[2] = e[1]
    if matches(e[2]) then
      out[#out + 1] = e
      found = found + 1
      if found == want then break end
    end
  end
  if #batch < chunk then return out end
  if rev then hi = '(' .. out[2] else lo = '(' .. out[2] end
end
if found < want then out[1] = 1 end
return out
