--[[
  The price resolver of common/contracts/pricing.ts, in the reserve script (the same precedence:
  base, then the member-day rule for the shopper's tier, then at most one coupon; each discount
  capped at what is left). Reads the item's rule and campaign from the holds hash
  (includes/coupon.lua). Returns { amount, breakdown, couponOff, memberOff, campaign } or
  { refuse = answer }:
    { -28, reason }  the coupon does not apply: unknown, not_valid_now, below_min_spend
    { -29, reason }  the coupon is exhausted: budget (none left), user (the per-user limit)
    { -30, reason }  the campaign's audience does not include the buyer: tier, stage (a shopper
                     with no stage is in no `stages` audience); checked before validity and
                     budget, so a shopper outside the audience learns nothing of them
  The breakdown is text without commas: "b.<base>;m.<tier>.<off>;c.<campaign>.<off>".
]]
--- @include "coupon"

local tierColumn = { regular = 2, silver = 3, gold = 4 }

local function numbers(s)
  local out = {}
  for x in string.gmatch(s, '[^,]+') do out[#out + 1] = tonumber(x) or x end
  return out
end

local function resolvePrice(holdsKey, unitPrice, qty, tier, stage, campaign, userId, now)
  local base = unitPrice * qty
  local left = base
  local moff = 0
  local bd = 'b.' .. base
  local md = redis.call('HGET', holdsKey, '~ md')
  if md then
    local r = numbers(md)
    if base >= r[1] then
      local off = math.min(r[tierColumn[tier]], left)
      if off > 0 then
        bd = bd .. ';m.' .. tier .. '.' .. off
        left = left - off
        moff = off
      end
    end
  end
  if campaign == '' then return { amount = left, breakdown = bd, couponOff = 0, memberOff = moff } end
  local cfg = redis.call('HGET', holdsKey, '~ c ' .. campaign)
  if not cfg then return { refuse = { -28, 'unknown' } } end
  local c = numbers(cfg)
  if not inAudience(c[9], tier) then return { refuse = { -30, 'tier' } } end
  if not inAudience(c[10], stage) then return { refuse = { -30, 'stage' } } end
  if now < c[6] or now >= c[7] then return { refuse = { -28, 'not_valid_now' } } end
  if left < c[4] then return { refuse = { -28, 'below_min_spend' } } end
  if tonumber(redis.call('HGET', holdsKey, '~ b ' .. campaign) or '0') <= 0 then return { refuse = { -29, 'budget' } } end
  if tonumber(redis.call('HGET', holdsKey, '~ u ' .. campaign .. ' ' .. userId) or '0') >= c[5] then return { refuse = { -29, 'user' } } end
  local raw = c[2]
  if c[1] == 'percent' then raw = math.floor(left * c[3] / 100) end
  local off = math.min(raw, left)
  bd = bd .. ';c.' .. campaign .. '.' .. off
  return { amount = left - off, breakdown = bd, couponOff = off, memberOff = moff, campaign = campaign }
end

-- Records a new hold's discounts and reserves its coupon (after resolvePrice said it applies).
local function reserveCoupon(holdsKey, orderId, p, userId, tier)
  if p.campaign then
    redis.call('HINCRBY', holdsKey, '~ b ' .. p.campaign, -1)
    redis.call('HINCRBY', holdsKey, '~ n ' .. p.campaign, 1)
    redis.call('HINCRBY', holdsKey, '~ u ' .. p.campaign .. ' ' .. userId, 1)
  end
  if p.campaign or p.memberOff > 0 then
    redis.call('HSET', holdsKey, orderId .. ' c', 'r,' .. (p.campaign or '~') .. ',' .. p.couponOff .. ',' .. p.memberOff .. ',' .. tier)
  end
end
