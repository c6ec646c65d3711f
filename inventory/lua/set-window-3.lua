--[[
  The host opens, closes or reschedules a sale (a flash sale's window, a group buy's joining
  window). Times are Redis-clock milliseconds; "now" means the Redis clock at this call, so a
  gateway with a skewed clock cannot open a sale early.
  Input:
    KEYS[1] item       hash   start, end, ver
    KEYS[2] users      hash   host command answers under " op <id>"
    KEYS[3] outbox     stream events for the relay
    ARGV[1] start: empty (unchanged), "now", or ms
    ARGV[2] end: empty (unchanged), "now", or ms; must end up after start ("now" always closes:
                       a sale not yet open ends unopened)
    ARGV[3] by                 who asked (host user id)
    ARGV[4] operation id       optional
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, start, end, ver, now }   changed (sale.changed)
    { -5, <first answer> }        the operation id was seen (fields as text)
    { -10 }                       item unavailable
    { -26 }                       retired: the sale is over and archived, nothing changes it (not recorded)
    { -20, reason }               invalid argument (end not after start, malformed time)
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/host-op"

local itemKey, usersKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local by, opId = ARGV[3], ARGV[4]
if not by or by == '' or #by > 128 then return { -20, 'by' } end
local now = nowMs()
local function time(s, current)
  if s == nil or s == '' then return current end
  if s == 'now' then return now end
  return parseInt(s, 0, 99999999999999)
end
local item = loadItem(itemKey)
if not item then return { -10 } end
local startMs, endMs = time(ARGV[1], item.start), time(ARGV[2], item['end'])
if not startMs then return { -20, 'start' } end
if not endMs then return { -20, 'end' } end
if ARGV[2] == 'now' then
  -- Closing now always works: a sale that had not opened yet ends unopened (start = end = now),
  -- and one opened in this same millisecond ends with an empty window.
  if startMs > now then startMs = now end
  if endMs < startMs then return { -20, 'end must be after start' } end
elseif endMs <= startMs then return { -20, 'end must be after start' } end
local first = hostOpFirst(usersKey, opId)
if first then return first end
if item.retired then return { -26 } end

item.ver = item.ver + 1
redis.call('HSET', itemKey, 'start', startMs, 'end', endMs, 'ver', item.ver)
emitEvent(outboxKey, item, now, { id = item.id .. ':sale:' .. item.ver, type = 'sale.changed', startsAt = startMs, endsAt = endMs, by = by })
return hostOpAnswer(usersKey, opId, { 1, startMs, endMs, item.ver, now })
