--[[
  Closes a tiered group buy: no more joins; the final count fixes the final price. Reaching a
  threshold exactly counts; above the top threshold is the top price. Below the first threshold
  the group fails (its orders are cancelled and refunded at settlement) or sells at the base
  price, by the item's setting. Closing twice answers as the first time.
  Input:
    KEYS[1] item       hash   kind, gstate, count, tiers, price (base), below, ver
    KEYS[2] users      hash   host command answers under " op <id>"
    KEYS[3] outbox     stream events for the relay
    ARGV[1] by                 who closed it (host user id, or "sweeper" at the end time)
    ARGV[2] operation id       optional
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, count, finalPrice, outcome, ver }   closed now (group.closed)
    { 2, count, finalPrice, outcome, ver }   was already closed
    { -5, <first answer> }                   the operation id was seen (fields as text)
    { -17 }                                  not a group buy
    { -10 }                                  item unavailable
    { -26 }                                  retired: the sale is over and archived, nothing changes it (not recorded)
    { -20, reason }                          invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/host-op"
--- @include "includes/tiers"

local itemKey, usersKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local by, opId = ARGV[1], ARGV[2]
if not by or by == '' or #by > 128 then return { -20, 'by' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
if item.kind ~= 'group' then return { -17 } end
local first = hostOpFirst(usersKey, opId)
if first then return first end
if item.gstate ~= 'open' then
  return { 2, item.count, item.fprice, item.outcome, item.ver }
end
if item.retired then return { -26 } end

local tier, price = tierAt(parseTiers(item.tiers), item.price, item.count)
local outcome = 'succeeded'
if tier == 0 then
  if item.below == 'base' then outcome = 'base_price' else outcome = 'failed' end
end
item.ver = item.ver + 1
redis.call('HSET', itemKey, 'gstate', 'closed', 'fprice', price, 'outcome', outcome, 'tier', tier, 'ver', item.ver)
emitEvent(outboxKey, item, nowMs(), { id = item.id .. ':closed', type = 'group.closed', count = item.count, finalPrice = price, outcome = outcome })
return hostOpAnswer(usersKey, opId, { 1, item.count, price, outcome, item.ver })
