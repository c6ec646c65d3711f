--[[
  Pays a hold: its stock moves from held to sold, in the same call as its order.paid event.
  A payment is made against the hold's version: a hold that expired, was cancelled or changed
  (a group buy repriced it) since that version is refused, never double-counted. A hold whose
  deadline has passed but that no sweeper has expired yet is expired here (exactly once: its
  state changes in this call) and the payment refused. A hold that reserved a coupon spends it
  here and is charged its price less the coupon's and the member-day discount (includes/coupon.lua).
  Input:
    KEYS[1] item       hash   counters
    KEYS[2] users      hash   per-user quantities
    KEYS[3] holds      hash   order id -> hold record; "<order id> p" -> the order.paid event
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    ARGV[1] order id
    ARGV[2] user id (the payer must be the holder)
    ARGV[3] the hold version paid against; empty: the current version
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, paidEventJson, avail, ver, amount }   paid now
    { 2, paidEventJson, avail, ver, amount }   already paid (the same event: confirm it again)
    { -11 }                 no such order for this user
    { -12, avail, ver }     expired (the hold may have been expired by this very call)
    { -13 }                 cancelled or refunded
    { -7 }                  a group buy that failed: its holds are cancelled, not paid
    { -14, holdVersion, unitPrice }   the hold changed since that version
    { -10 }                 item unavailable
    { -26 }                 retired: the sale is over and archived, nothing changes it
    { -20, reason }         invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/release-hold"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local orderId, userId, expected = ARGV[1], ARGV[2], ARGV[3]
if not orderId or orderId == '' or #orderId > 64 or not string.match(orderId, '^[%w_-]+$') then return { -20, 'order id' } end
if not userId or userId == '' then return { -20, 'user' } end
if expected and expected ~= '' and not string.match(expected, '^%d+$') then return { -20, 'version' } end

local item = loadItem(itemKey)
if not item then return { -10 } end
local h = parseHold(redis.call('HGET', holdsKey, orderId))
if not h or h.user ~= userId then return { -11 } end

if h.st == 'p' then
  return { 2, redis.call('HGET', holdsKey, orderId .. ' p'), item.avail, item.ver, h.qty * h.price - discountOf(holdsKey, orderId) }
end
if h.st == 'c' or h.st == 'r' then return { -13 } end
if item.kind == 'group' and item.outcome == 'failed' then return { -7 } end
if h.st == 'e' then return { -12, item.avail, item.ver } end
-- A retired item only answers what was already done (above); a refund is too late now.
if item.retired then return { -26 } end

local now = nowMs()
if h.deadline <= now then
  releaseHold(usersKey, holdsKey, deadlinesKey, item, orderId, h, 'e')
  item.ver = item.ver + 1
  emitEvent(outboxKey, item, now, { id = orderId .. ':expired', type = 'order.expired', order = orderId, user = h.user, qty = h.qty })
  saveCounters(itemKey, item)
  return { -12, item.avail, item.ver }
end
if expected and expected ~= '' and tonumber(expected) ~= h.v then return { -14, h.v, h.price } end

local hv = h.v
item.held = item.held - h.qty
item.sold = item.sold + h.qty
item.ver = item.ver + 1
h.st = 'p'
h.v = h.v + 1
local amount = h.qty * h.price - spendCoupon(holdsKey, orderId)
local event = cjson.encode({
  id = orderId .. ':paid', type = 'order.paid', order = orderId, item = item.id, room = item.room, user = h.user,
  qty = h.qty, price = h.price, amount = amount, hv = hv, kind = item.kind, at = now, ver = item.ver,
})
redis.call('HSET', holdsKey, orderId, formatHold(h), orderId .. ' p', event)
redis.call('ZREM', deadlinesKey, orderId)
emitJson(outboxKey, event)
saveCounters(itemKey, item)
return { 1, event, item.avail, item.ver, amount }
