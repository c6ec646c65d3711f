--[[
  Awards a lottery's prize: one unit of a flash-sale item per winner, held at unit price 0 with
  the claim deadline as its payment deadline, in rank order while stock lasts. Outside the sale
  window and the per-user limit (a prize is not a purchase), but through the same hold record,
  user count, deadline index and order.held event as a reservation: a claim is a payment of the
  hold (amount 0, pay-5.lua), an unclaimed prize expires with the sweeper (expire-holds-5.lua)
  and its stock returns, so available + held + sold = total holds throughout.
  A winner whose order id already has a hold (a repeated call) counts as awarded and changes
  nothing: the call is idempotent by order id.
  Input:
    KEYS[1] item       hash   counters
    KEYS[2] users      hash   per-user quantities
    KEYS[3] holds      hash   order id -> hold record (includes/hold.lua)
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    ARGV[1] claim time (ms)    integer 1000..86400000
    ARGV[2] lottery id         letters, digits, - and _
    ARGV[3 + 2i], ARGV[4 + 2i] the order id and user id of the winner of rank i + 1 (at most 1000)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, awarded, avail, ver, deadline1, deadline2, ... }   the first `awarded` winners hold a
                                                            prize (deadline per awarded winner)
    { -10 }                 item unavailable
    { -17 }                 wrong kind (a group buy cannot be a prize)
    { -26 }                 retired: the sale is over and archived
    { -20, reason }         invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/hold"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local claimMs = parseInt(ARGV[1], 1000, 86400000)
if not claimMs then return { -20, 'claim time' } end
local lotteryId = ARGV[2]
if not lotteryId or not string.match(lotteryId, '^[%w_-]+$') or #lotteryId > 64 then return { -20, 'lottery id' } end
local n = (#ARGV - 2) / 2
if n ~= math.floor(n) or n > 1000 then return { -20, 'winners' } end
for i = 0, n - 1 do
  local orderId, userId = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  if not string.match(orderId, '^[%w_-]+$') or #orderId > 64 then return { -20, 'order id' } end
  if userId == '' or #userId > 128 or string.find(userId, ' ', 1, true) then return { -20, 'user' } end
end

local item = loadItem(itemKey)
if not item then return { -10 } end
if item.kind ~= 'flash' then return { -17 } end
if item.retired then return { -26 } end

local now = nowMs()
local deadline = now + claimMs
local awarded, deadlines, changed = 0, {}, false
for i = 0, n - 1 do
  local orderId, userId = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local existing = parseHold(redis.call('HGET', holdsKey, orderId))
  if existing then
    awarded = awarded + 1
    deadlines[#deadlines + 1] = existing.deadline
  elseif item.avail >= 1 then
    item.avail = item.avail - 1
    item.held = item.held + 1
    item.ver = item.ver + 1
    changed = true
    redis.call('HINCRBY', usersKey, userId, 1)
    redis.call('HSET', holdsKey, orderId, formatHold({ st = 'h', v = 1, qty = 1, price = 0, deadline = deadline, user = userId }))
    redis.call('ZADD', deadlinesKey, deadline, orderId)
    emitJson(outboxKey, '{"id":"' .. orderId .. ':held","type":"order.held","kind":"flash","order":"' .. orderId .. '",' .. item.ej ..
      ',"user":' .. cjson.encode(userId) .. ',"idem":' .. cjson.encode('lottery:' .. lotteryId) .. ',"qty":1,"price":0,"amount":0,"deadline":' .. deadline ..
      ',"at":' .. now .. ',"ver":' .. item.ver .. '}')
    awarded = awarded + 1
    deadlines[#deadlines + 1] = deadline
  else
    break
  end
end
if changed then saveCounters(itemKey, item) end
local a = { 1, awarded, item.avail, item.ver }
for _, d in ipairs(deadlines) do a[#a + 1] = d end
return a
