--[[
  Returns an unpaid hold's stock to available (cancel, expiry, failed group): counters, the
  user's quantity, the hold's state and version, the deadline index. While a group is open its
  count goes down too (a person leaves when their last unit does). Saving the counters and
  emitting the event are the caller's. `returnUnits` is the part a refund of a paid hold shares.
  The hold's coupon, if it reserved one, goes back to its campaign (includes/coupon.lua).
]]
--- @include "hold"
--- @include "tiers"
--- @include "coupon"

-- The hold's units leave the user's count (and, while a group is open, the group's count).
local function returnUnits(usersKey, item, h)
  item.avail = item.avail + h.qty
  local left = redis.call('HINCRBY', usersKey, h.user, -h.qty)
  if left <= 0 then redis.call('HDEL', usersKey, h.user) end
  if item.kind == 'group' and item.gstate == 'open' then
    if item.mode == 'p' then
      if left <= 0 then item.count = item.count - 1 end
    else
      item.count = item.count - h.qty
    end
    item.tier = tierAt(parseTiers(item.tiers), item.price, item.count)
  end
end

local function releaseHold(usersKey, holdsKey, deadlinesKey, item, orderId, h, newState)
  item.held = item.held - h.qty
  returnUnits(usersKey, item, h)
  h.st = newState
  h.v = h.v + 1
  redis.call('HSET', holdsKey, orderId, formatHold(h))
  redis.call('ZREM', deadlinesKey, orderId)
  freeCoupon(holdsKey, orderId, h.user)
end
