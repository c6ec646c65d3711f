--[[
  The coupon ledger of a flash-sale item and its member-day rule. They live in the item's holds
  hash (the item's hash tag, so every script that reserves, pays, cancels or expires a hold
  changes its coupon in the same atomic call), under fields that hold a space, which no order id
  does (readers of the holds skip them, as they skip "<order id> p"):
    "~ md"                      member-day rule   threshold,regularOff,silverOff,goldOff
    "~ c <campaign>"            campaign          kind,amount,percent,minSpend,perUser,startsMs,endsMs,budget
                                                  [,tiers,stages]: the audience, each a "|"-joined
                                                  list or "*" (any); absent: anyone
    "~ b <campaign>"            coupons left      budget minus coupons reserved or spent now
    "~ n <campaign>"            coupons issued    reserved on a hold, ever
    "~ s <campaign>"            coupons spent     on a paid order, less those restored by a refund
    "~ u <campaign> <user>"     the user's coupons reserved or spent now (the per-user limit)
    "<order id> c"              the hold's discounts state,campaign,couponOff,memberOff,tier: r reserved,
                                s spent, f freed; campaign "~" when the hold has a member-day
                                discount and no coupon (written only for a hold with a discount)
  A coupon is reserved with its hold (reserve-6.lua), freed when the hold is cancelled or expires
  (includes/release-hold.lua), spent when it is paid (pay-5.lua) and freed again when a paid
  order is refunded (cancel-5.lua): the budget and the user's count come back exactly once,
  because the hold's coupon state changes in the same call.
]]

local couponField = function(orderId) return orderId .. ' c' end

-- Whether a campaign's audience list ("gold|silver", "*" or absent: any) admits the value (a
-- shopper's tier, or stage: "" for none, which no list admits).
local function inAudience(list, value)
  if list == nil or list == '*' then return true end
  if value == '' then return false end
  for x in string.gmatch(list, '[^|]+') do
    if x == value then return true end
  end
  return false
end

local function parseCoupon(s)
  if not s then return nil end
  local st, camp, off, moff, tier = string.match(s, '^(%a),([%w_~-]+),(%d+),(%d+),(%a+)$')
  if not st then return nil end
  return { st = st, camp = camp, off = tonumber(off), moff = tonumber(moff), tier = tier }
end

-- What the hold is charged less than qty x unit price: its member-day and coupon discounts.
local function discountOf(holdsKey, orderId)
  local c = parseCoupon(redis.call('HGET', holdsKey, couponField(orderId)))
  if not c then return 0 end
  return c.off + c.moff
end

local function setCouponState(holdsKey, orderId, c, st)
  redis.call('HSET', holdsKey, couponField(orderId), st .. ',' .. c.camp .. ',' .. c.off .. ',' .. c.moff .. ',' .. c.tier)
end

-- The hold's coupon goes back to its campaign (a release, or a refund of a paid order).
local function freeCoupon(holdsKey, orderId, userId)
  local c = parseCoupon(redis.call('HGET', holdsKey, couponField(orderId)))
  if not c or c.st == 'f' then return 0 end
  if c.camp == '~' then
    setCouponState(holdsKey, orderId, c, 'f')
    return 0
  end
  redis.call('HINCRBY', holdsKey, '~ b ' .. c.camp, 1)
  local uf = '~ u ' .. c.camp .. ' ' .. userId
  if redis.call('HINCRBY', holdsKey, uf, -1) <= 0 then redis.call('HDEL', holdsKey, uf) end
  if c.st == 's' then redis.call('HINCRBY', holdsKey, '~ s ' .. c.camp, -1) end
  setCouponState(holdsKey, orderId, c, 'f')
  return c.off
end

-- A payment spends the hold's coupon; returns the hold's whole discount (0 without one).
local function spendCoupon(holdsKey, orderId)
  local c = parseCoupon(redis.call('HGET', holdsKey, couponField(orderId)))
  if not c then return 0 end
  if c.st == 'r' then
    if c.camp ~= '~' then redis.call('HINCRBY', holdsKey, '~ s ' .. c.camp, 1) end
    setCouponState(holdsKey, orderId, c, 's')
  end
  return c.off + c.moff
end
