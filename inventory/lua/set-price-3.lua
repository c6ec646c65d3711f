--[[
  The host changes a flash-sale item's unit price, now or at a scheduled time (Redis clock).
  A change now replaces any scheduled one. A scheduled change emits price.scheduled; when its
  time comes, the first reserve (or the sweeper's apply-price) applies it with price.changed.
  Input:
    KEYS[1] item       hash   price, ver, np, nat, nby
    KEYS[2] users      hash   host command answers under " op <id>"
    KEYS[3] outbox     stream events for the relay
    ARGV[1] new unit price (fen)   integer 0..1e9
    ARGV[2] effective at (ms)      empty, or a time; a time not after now means now
    ARGV[3] by                     who asked (host user id)
    ARGV[4] operation id           optional
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, price, ver }                       changed now (price.changed)
    { 3, price, scheduledPrice, at, ver }   scheduled (price.scheduled); price is the one in force
    { -5, <first answer> }                  the operation id was seen (fields as text)
    { -17 }                                 a group buy (its prices are its tiers)
    { -10 }                                 item unavailable
    { -26 }                                 retired: the sale is over and archived, nothing changes it (not recorded)
    { -20, reason }                         invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/host-op"

local itemKey, usersKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local price = parseInt(ARGV[1], 0, 1000000000)
local at = ARGV[2]
local by, opId = ARGV[3], ARGV[4]
if not price then return { -20, 'price' } end
if at and at ~= '' then
  at = parseInt(at, 0, 99999999999999)
  if not at then return { -20, 'effective time' } end
else
  at = nil
end
if not by or by == '' or #by > 128 then return { -20, 'by' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
if item.kind ~= 'flash' then return { -17 } end
local first = hostOpFirst(usersKey, opId)
if first then return first end
if item.retired then return { -26 } end

local now = nowMs()
item.ver = item.ver + 1
if at and at > now then
  redis.call('HSET', itemKey, 'np', price, 'nat', at, 'nby', by, 'ver', item.ver)
  emitEvent(outboxKey, item, now, { id = item.id .. ':price:' .. item.ver, type = 'price.scheduled', price = price, effectiveAt = at, by = by })
  return hostOpAnswer(usersKey, opId, { 3, item.price, price, at, item.ver })
end
local previous = item.price
redis.call('HSET', itemKey, 'price', price, 'ver', item.ver)
redis.call('HDEL', itemKey, 'np', 'nat', 'nby')
emitEvent(outboxKey, item, now, {
  id = item.id .. ':price:' .. item.ver, type = 'price.changed', price = price, previous = previous, effectiveAt = now, by = by,
})
return hostOpAnswer(usersKey, opId, { 1, price, item.ver })
