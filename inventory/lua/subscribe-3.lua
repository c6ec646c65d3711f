--[[
  A shopper asks to be reminded when a pre-heated sale opens. Only during pre-heat (before the
  start, Redis clock); subscribing twice is harmless.
  Input:
    KEYS[1] item       hash   start, end, id, room, ver
    KEYS[2] subs       set    subscribed users
    KEYS[3] outbox     stream events for the relay
    ARGV[1] user id
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, subscribers }     subscribed (sale.subscribed)
    { 2, subscribers }     was already subscribed
    { -8, startMs }        the sale is already live: no reminder needed
    { -4, endMs }          the sale has ended
    { -10 }                item unavailable
    { -20, reason }        invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/item"

local itemKey, subsKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local userId = ARGV[1]
if not userId or userId == '' or #userId > 128 or string.find(userId, ' ', 1, true) then return { -20, 'user' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
local now = nowMs()
if now >= item['end'] then return { -4, item['end'] } end
if now >= item.start then return { -8, item.start } end
if redis.call('SADD', subsKey, userId) == 0 then return { 2, redis.call('SCARD', subsKey) } end
emitEvent(outboxKey, item, now, { id = item.id .. ':sub:' .. userId, type = 'sale.subscribed', user = userId })
return { 1, redis.call('SCARD', subsKey) }
