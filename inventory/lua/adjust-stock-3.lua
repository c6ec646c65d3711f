--[[
  The host adds (delta > 0) or removes (delta < 0) stock. Stock never goes below what is held
  and sold: removing more than is available is refused and changes nothing.
  Input:
    KEYS[1] item       hash   total, avail, held, sold, ver
    KEYS[2] users      hash   host command answers under " op <id>"
    KEYS[3] outbox     stream events for the relay
    ARGV[1] delta              non-zero integer, |delta| <= 1e9
    ARGV[2] by                 who asked (host user id)
    ARGV[3] operation id       optional: the same id answers as the first time
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, total, avail, ver }       adjusted (stock.adjusted emitted)
    { -5, <first answer> }         the operation id was seen: its first answer (fields as text)
    { -16, avail, held, sold }     would go below held + sold (recorded under the operation id)
    { -10 }                        item unavailable
    { -26 }                        retired: the sale is over and archived, nothing changes it (not recorded)
    { -20, reason }                invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/host-op"

local itemKey, usersKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local delta, by, opId = parseInt(ARGV[1], -1000000000, 1000000000), ARGV[2], ARGV[3]
if not delta or delta == 0 then return { -20, 'delta' } end
if not by or by == '' or #by > 128 then return { -20, 'by' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
local first = hostOpFirst(usersKey, opId)
if first then return first end
if item.retired then return { -26 } end

if item.avail + delta < 0 then
  return hostOpAnswer(usersKey, opId, { -16, item.avail, item.held, item.sold })
end
item.total = item.total + delta
item.avail = item.avail + delta
item.ver = item.ver + 1
emitEvent(outboxKey, item, nowMs(), {
  id = item.id .. ':adj:' .. item.ver, type = 'stock.adjusted', delta = delta, total = item.total, available = item.avail, by = by,
})
saveCounters(itemKey, item)
return hostOpAnswer(usersKey, opId, { 1, item.total, item.avail, item.ver })
