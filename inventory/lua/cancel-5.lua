--[[
  Cancels an order. An unpaid hold returns its stock (order.cancelled). A paid order can be
  cancelled only by the host: the buyer is refunded in full and the stock returns
  (refund.issued, reason cancelled_after_payment: what was paid, its discounts excepted, and its
  coupon goes back to the campaign). Cancelling twice answers as the first time.
  Input:
    KEYS[1] item       hash   counters
    KEYS[2] users      hash   per-user quantities
    KEYS[3] holds      hash   order id -> hold record
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    ARGV[1] order id
    ARGV[2] user id: the holder cancelling their own order; empty: the host
    ARGV[3] reason: user | host
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, avail, ver, 'cancelled' | 'refunded', refundAmount, count, tier, kind }   done now
    { 2, avail, ver, 'cancelled' | 'refunded', 0, count, tier, kind }        was already done
        (count and tier: a group buy's, after the change; 0 for flash sales; then the item's kind)
    { -11 }                 no such order (for this user)
    { -12, avail, ver }     the hold already expired
    { -15 }                 paid: a buyer cannot cancel a paid order
    { -10 }                 item unavailable
    { -26 }                 retired: the sale is over and archived, nothing changes it
    { -20, reason }         invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/release-hold"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local orderId, userId, reason = ARGV[1], ARGV[2], ARGV[3]
if not orderId or orderId == '' or #orderId > 64 or not string.match(orderId, '^[%w_-]+$') then return { -20, 'order id' } end
if reason ~= 'user' and reason ~= 'host' then return { -20, 'reason' } end
if reason == 'user' and (not userId or userId == '') then return { -20, 'user' } end

local item = loadItem(itemKey)
if not item then return { -10 } end
local h = parseHold(redis.call('HGET', holdsKey, orderId))
if not h or (userId and userId ~= '' and h.user ~= userId) then return { -11 } end

if h.st == 'c' then return { 2, item.avail, item.ver, 'cancelled', 0, item.count or 0, item.tier or 0, item.kind } end
if h.st == 'r' then return { 2, item.avail, item.ver, 'refunded', 0, item.count or 0, item.tier or 0, item.kind } end
if h.st == 'e' then return { -12, item.avail, item.ver } end
-- A retired item only answers what was already done (above); a refund is too late now.
if item.retired then return { -26 } end

local now = nowMs()
if h.st == 'p' then
  if reason == 'user' then return { -15 } end
  item.sold = item.sold - h.qty
  returnUnits(usersKey, item, h)
  local amount = h.qty * h.price - discountOf(holdsKey, orderId)
  freeCoupon(holdsKey, orderId, h.user)
  h.st = 'r'
  h.v = h.v + 1
  redis.call('HSET', holdsKey, orderId, formatHold(h))
  item.ver = item.ver + 1
  emitEvent(outboxKey, item, now, {
    id = orderId .. ':refund:cancel', type = 'refund.issued', order = orderId, user = h.user, amount = amount, reason = 'cancelled_after_payment',
  })
  saveCounters(itemKey, item)
  return { 1, item.avail, item.ver, 'refunded', amount, item.count or 0, item.tier or 0, item.kind }
end

releaseHold(usersKey, holdsKey, deadlinesKey, item, orderId, h, 'c')
item.ver = item.ver + 1
emitEvent(outboxKey, item, now, { id = orderId .. ':cancelled', type = 'order.cancelled', order = orderId, user = h.user, qty = h.qty, reason = reason })
saveCounters(itemKey, item)
return { 1, item.avail, item.ver, 'cancelled', 0, item.count or 0, item.tier or 0, item.kind }
