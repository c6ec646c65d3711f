--[[
  The starter buys at the bargain's current price, at any time in its window: a hold of one unit
  through the normal path (the item's stock, per-user limit and sale window; paid with pay-5.lua
  like any hold). Buying again while that hold is held or paid answers it (ALREADY); once it
  expired or was cancelled, the starter may buy again within the window.
  Input:
    KEYS[1] item       hash   avail, held, limit, start, end, hold_ms, ver, ej, kind, retired
    KEYS[2] users      hash   per-user quantities
    KEYS[3] holds      hash   order id -> hold record
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    KEYS[6] bargains   hash   bargain records (bargain-start-3.lua)
    ARGV[1] bargain id
    ARGV[2] user id (must be the starter)
    ARGV[3] order id        used only when a hold is created
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, orderId, 1, unitPrice, deadlineMs, avail, ver }   held (order.held with the bargain)
    { 2, orderId, 1, unitPrice, deadlineMs, avail, ver }   the bargain's hold, held or paid before
    { -44 }          no such bargain for this user
    { -45 }          its window ended
    { -1, 0 }  { -2, limit, already }  { -3, startMs }  { -4, endMs }   as for reserve
    { -10 }          item unavailable
    { -20, reason }  invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/hold"
--- @include "includes/bargain"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey, bargainsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, userId, orderId = ARGV[1], ARGV[2], ARGV[3]
if not id or #id > 64 or not string.match(id, '^[%w_-]+$') then return { -20, 'bargain id' } end
if not userId or userId == '' or #userId > 128 or string.find(userId, ' ', 1, true) then return { -20, 'user' } end
if not orderId or #orderId > 64 or not string.match(orderId, '^[%w_-]+$') then return { -20, 'order id' } end
local item = redis.call('HMGET', itemKey, 'avail', 'held', 'limit', 'start', 'end', 'hold_ms', 'ver', 'ej', 'kind', 'retired')
if not item[1] then return { -10 } end
local b = parseBargain(redis.call('HGET', bargainsKey, 'b ' .. id))
if not b or b.starter ~= userId then return { -44 } end
if b.st == 'b' then
  local h = parseHold(redis.call('HGET', holdsKey, b.order))
  if h and (h.st == 'h' or h.st == 'p') then return { 2, b.order, h.qty, h.price, h.deadline, tonumber(item[1]), tonumber(item[7]) } end
end
local now = nowMs()
if now >= b.ends then return { -45 } end
local startMs, endMs = tonumber(item[4]), tonumber(item[5])
if item[10] or now >= endMs then return { -4, endMs } end
if now < startMs then return { -3, startMs } end
local already = tonumber(redis.call('HGET', usersKey, userId) or '0')
local limit = tonumber(item[3])
if already + 1 > limit then return { -2, limit, already } end
local avail = tonumber(item[1])
if avail <= 0 then return { -1, 0 } end

avail = avail - 1
local ver = tonumber(item[7]) + 1
local deadline = now + tonumber(item[6])
local price = b.cur
redis.call('HSET', holdsKey, orderId, 'h,1,1,' .. price .. ',' .. deadline .. ',' .. userId)
redis.call('ZADD', deadlinesKey, deadline, orderId)
emitJson(outboxKey, '{"id":"' .. orderId .. ':held","type":"order.held","kind":"flash","order":"' .. orderId .. '",' .. item[8] ..
  ',"user":' .. cjson.encode(userId) .. ',"qty":1,"price":' .. price .. ',"amount":' .. price .. ',"deadline":' .. deadline ..
  ',"bargain":"' .. id .. '","at":' .. now .. ',"ver":' .. ver .. '}')
redis.call('HSET', itemKey, 'avail', avail, 'held', tonumber(item[2]) + 1, 'ver', ver)
redis.call('HINCRBY', usersKey, userId, 1)
if b.st ~= 'b' then redis.call('HINCRBY', bargainsKey, 'bought', 1) end
b.st = 'b'
b.order = orderId
redis.call('HSET', bargainsKey, 'b ' .. id, formatBargain(b))
return { 1, orderId, 1, price, deadline, avail, ver }
