--[[
  Payment reminders (催单): an order.reminder event for each unpaid hold whose deadline comes
  within the item's reminder lead. A cursor in the item (rem: deadlines up to it were reminded)
  makes each hold reminded once; the event id is "<order>:remind". Changes no stock and no
  version.
  Input:
    KEYS[1] item       hash   rem_ms (lead; 0 = no reminders), rem (cursor), ver, id, room
    KEYS[2] holds      hash   order id -> hold record
    KEYS[3] deadlines  zset   unpaid holds by deadline
    KEYS[4] outbox     stream events for the relay
    ARGV[1] batch              integer 1..10000
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, reminded, more }  more = 1: call again
    { -10 }                item unavailable
    { -20, reason }        invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/hold"

local itemKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local batch = parseInt(ARGV[1], 1, 10000)
if not batch then return { -20, 'batch' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
if not item.rem_ms or item.rem_ms <= 0 then return { 1, 0, 0 } end

local now = nowMs()
local upto = now + item.rem_ms
local page = redis.call('ZRANGEBYSCORE', deadlinesKey, '(' .. item.rem, upto, 'WITHSCORES', 'LIMIT', 0, batch)
local ids, cursor, more = {}, upto, 0
for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
if #ids == batch then
  -- A full page: stop at its last deadline, taking every hold that shares it, so the cursor
  -- never splits equal deadlines.
  cursor = tonumber(page[#page])
  more = 1
  local last = ids[#ids]
  local ties = redis.call('ZRANGEBYSCORE', deadlinesKey, cursor, cursor)
  local seen = false
  for _, id in ipairs(ties) do
    if seen then ids[#ids + 1] = id end
    if id == last then seen = true end
  end
end
local reminded = 0
for _, orderId in ipairs(ids) do
  local h = parseHold(redis.call('HGET', holdsKey, orderId))
  if h and h.st == 'h' then
    emitEvent(outboxKey, item, now, { id = orderId .. ':remind', type = 'order.reminder', order = orderId, user = h.user, deadline = h.deadline })
    reminded = reminded + 1
  end
end
redis.call('HSET', itemKey, 'rem', cursor)
return { 1, reminded, more }
