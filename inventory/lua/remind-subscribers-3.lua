--[[
  Sends the pre-heat reminders: once the sale is about to open (start - lead, Redis clock), one
  sale.reminder event per subscriber, at most `batch` per call; each subscriber is reminded once
  (removed from the set in the same call). After the sale has ended the set is dropped.
  Input:
    KEYS[1] item       hash   start, end, id, room, ver
    KEYS[2] subs       set    subscribed users
    KEYS[3] outbox     stream events for the relay
    ARGV[1] batch              integer 1..10000
    ARGV[2] lead (ms)          integer >= 0: remind this long before the start
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, reminded, remaining }
    { -10 }                item unavailable
    { -20, reason }        invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/item"

local itemKey, subsKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local batch, lead = parseInt(ARGV[1], 1, 10000), parseInt(ARGV[2], 0, 86400000)
if not batch then return { -20, 'batch' } end
if not lead then return { -20, 'lead' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
local now = nowMs()
if now >= item['end'] then
  redis.call('DEL', subsKey)
  return { 1, 0, 0 }
end
if now < item.start - lead then return { 1, 0, redis.call('SCARD', subsKey) } end
local users = redis.call('SPOP', subsKey, batch)
for _, userId in ipairs(users) do
  emitEvent(outboxKey, item, now, { id = item.id .. ':remind:' .. userId, type = 'sale.reminder', user = userId, startsAt = item.start })
end
return { 1, #users, redis.call('SCARD', subsKey) }
