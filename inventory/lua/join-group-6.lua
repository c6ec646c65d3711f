--[[
  Joins a tiered group buy: one atomic call reserves the stock (a hold, like a flash-sale
  reservation), counts the participant (people or units, by the item's mode), and prices the
  hold at the tier the count reaches with this join. Crossing into a higher tier emits
  group.tier_reached after the order.held event.
  Input:
    KEYS[1] item       hash   avail, held, price (base), limit, start, end, hold_ms, ver, ej, kind,
                              gstate, mode, count, tier, tiers, retired
    KEYS[2] users      hash   user -> quantity held or bought; "user key" -> first answer
    KEYS[3] holds      hash   order id -> hold record (includes/hold.lua)
    KEYS[4] deadlines  zset   order id scored by its payment deadline (ms)
    KEYS[5] outbox     stream events for the relay
    KEYS[6] refused    string this key's refusal, expiring (ItemKeys.refused(user, key))
    ARGV[1] user id            no spaces
    ARGV[2] quantity           integer 1..10000
    ARGV[3] idempotency key    1..128 characters
    ARGV[4] order id           letters, digits, - and _
    ARGV[5] how long a refusal is kept for repeats of its key (ms; default ten minutes)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, orderId, qty, unitPrice, deadline, avail, ver, count, tier, nextThreshold, crossed }
        joined; nextThreshold 0 = the top tier is reached; crossed 1 = this join reached a new tier
    { -5, <first answer> }   duplicate: the key's first answer follows, its fields as text
    { -27 }                  key reused: the key's first request had another quantity (nothing
                             changed, nothing recorded, the first answer not shown)
    { -7 }                   the group is closed
    { -1, 0 }  { -6, avail }  { -2, limit, already }  { -3, startMs }  { -4, endMs }   as for reserve
    { -17 }                  wrong kind (a flash-sale item: reserve it instead)
    { -10 }                  item unavailable
    { -20, reason }          invalid argument (nothing changed, nothing recorded)
  Every answer except -5, -10, -17, -20 and -27 is recorded under the idempotency key, as text
  (a success in the users hash; a refusal, which changed nothing, in its own expiring key:
  includes/buy.lua), except
  the "ended" of a retired item (nothing is written to a retired item's expiring keys).
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/buy"
--- @include "includes/tiers"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local userId, idem, orderId = ARGV[1], ARGV[3], ARGV[4]
local qty = parseInt(ARGV[2], 1, 10000)

local bad = badBuyArgs(userId, qty, idem, orderId)
if bad then return bad end

local item = redis.call('HMGET', itemKey, 'avail', 'held', 'price', 'limit', 'start', 'end', 'hold_ms', 'ver', 'ej', 'kind',
  'gstate', 'mode', 'count', 'tier', 'tiers', 'retired')
if not item[1] then return { -10 } end
if item[10] ~= 'group' then return { -17 } end

local refusalTtl = parseInt(ARGV[5], 1, 86400000) or 600000
local idemField, mine, repeated, answer = userRecord(usersKey, KEYS[6], userId, idem, qty, refusalTtl)
if repeated then return repeated end
-- Retired: ended, and nothing is written (its keys are expiring; a new field would outlive them).
if item[16] then return { -4, tonumber(item[6]) } end

if item[11] ~= 'open' then return answer({ -7 }) end
local now = nowMs()
local already, avail = tonumber(mine[1] or '0'), tonumber(item[1])
local refused = saleRefusal(answer, now, tonumber(item[5]), tonumber(item[6]), already, tonumber(item[4]), avail, qty)
if refused then return refused end

local count = tonumber(item[13])
if item[12] == 'p' then
  if already == 0 then count = count + 1 end
else
  count = count + qty
end
local tiers = parseTiers(item[15])
local tier, price, nextThreshold = tierAt(tiers, tonumber(item[3]), count)
local oldTier = tonumber(item[14])

avail = avail - qty
local ver = tonumber(item[8]) + 1
local deadline = now + tonumber(item[7])
redis.call('HSET', holdsKey, orderId, 'h,1,' .. qty .. ',' .. price .. ',' .. deadline .. ',' .. userId)
redis.call('ZADD', deadlinesKey, deadline, orderId)
emitJson(outboxKey, '{"id":"' .. orderId .. ':held","type":"order.held","kind":"group","order":"' .. orderId .. '",' .. item[9] ..
  ',"user":' .. cjson.encode(userId) .. ',"idem":' .. cjson.encode(idem) .. ',"qty":' .. qty .. ',"price":' .. price ..
  ',"amount":' .. (price * qty) .. ',"deadline":' .. deadline .. ',"at":' .. now .. ',"ver":' .. ver .. '}')
local crossed = 0
if tier > oldTier then
  crossed = 1
  ver = ver + 1
  local itemId = string.match(item[9], '^"item":"([^"]*)"')
  emitJson(outboxKey, '{"id":"' .. itemId .. ':tier:' .. tier .. ':' .. ver .. '","type":"group.tier_reached",' .. item[9] ..
    ',"tier":' .. tier .. ',"threshold":' .. tiers[tier].t .. ',"price":' .. price .. ',"count":' .. count ..
    ',"at":' .. now .. ',"ver":' .. ver .. '}')
end
redis.call('HSET', itemKey, 'avail', avail, 'held', tonumber(item[2]) + qty, 'ver', ver, 'count', count, 'tier', tier)
local a = { 1, orderId, qty, price, deadline, avail, ver, count, tier, nextThreshold, crossed }
redis.call('HSET', usersKey, userId, already + qty, idemField, answerText(a))
return a
