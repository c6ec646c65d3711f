--[[
  What a flash-sale reserve and a group join share: the check of their arguments, and the user's
  idempotency record and count, read with one HMGET.

  badBuyArgs returns the invalid-argument answer ({ -20, reason }), or nil when all are valid.
  userRecord returns the idempotency field, { units held or bought or nil }, the repeat answer
  of a key seen before (nil for a new key), and a function that records an answer under the key
  and returns it.

  A key belongs to one request: (user, item, operation, quantity, coupon). The user and the
  item scope it (the field names the user, the hash is the item's; an item is either a flash
  sale or a group buy, so the operation follows from the item), and the quantity and the coupon,
  the parameters left, are the fingerprint stored with the first answer in the same call: a
  success is kept in the users hash with the rest of the user's state (its text holds the
  quantity, field 3, and a reserve's breakdown, its last field, names the coupon it used:
  ";c.<campaign>.<off>", always last when there is one); a refusal changed nothing, so it is
  kept only for refusalTtl ms, as "qty;answer" or "qty coupon;answer" in a string key of its
  own (ItemKeys.refused in common/contracts/keys.ts, the item's hash tag; its name holds the
  user and key, so the wrapper passes it in KEYS): fresh keys sent at a refusing item expire
  instead of growing the users hash. A repeat with the same quantity and coupon answers the
  first answer ({ -5, ... }); with another quantity, another coupon, or a coupon where the
  first had none (or none where it had one) it answers { -27 } (KEY_REUSED), writes nothing,
  and never shows the first request's answer. Joins take no coupon: they pass nil, and their
  first answers name none.
]]
--- @include "answer"

local function badBuyArgs(userId, qty, idem, orderId)
  if not userId or userId == '' or #userId > 128 or string.find(userId, ' ', 1, true) then return { -20, 'user' } end
  if not qty then return { -20, 'quantity' } end
  if not idem or idem == '' or #idem > 128 then return { -20, 'idempotency key' } end
  if not orderId or #orderId > 64 or not string.match(orderId, '^[%w_-]+$') then return { -20, 'order id' } end
  return nil
end

local function userRecord(usersKey, refusedKey, userId, idem, qty, refusalTtl, coupon)
  coupon = coupon or ''
  local field = userId .. ' ' .. idem
  local mine = redis.call('HMGET', usersKey, userId, field)
  local repeated = nil
  if mine[2] then
    if tonumber(string.match(mine[2], '^[^,]*,[^,]*,(%d+)')) ~= qty then return field, mine, { -27 }, nil end
    -- Only a reserve's breakdown has a coupon step; a join's answer never matches.
    if (string.match(mine[2], ';c%.([%w_-]+)%.%d+$') or '') ~= coupon then return field, mine, { -27 }, nil end
    repeated = duplicateOf(mine[2])
  else
    local refused = redis.call('GET', refusedKey)
    if refused then
      local firstQty, firstCoupon, first = string.match(refused, '^(%d+) ?([%w_-]*);(.*)$')
      if tonumber(firstQty) ~= qty or firstCoupon ~= coupon then return field, mine, { -27 }, nil end
      repeated = duplicateOf(first)
    end
  end
  local fingerprint = coupon == '' and tostring(qty) or (qty .. ' ' .. coupon)
  local function answer(a)
    redis.call('SET', refusedKey, fingerprint .. ';' .. answerText(a), 'PX', refusalTtl)
    return a
  end
  return field, mine, repeated, answer
end

-- The refusals every buy and join shares, in this order: before the sale window, after it, past
-- the user's limit, sold out, not enough left. Answers the first that applies through `answer`
-- (which records it under the key), or nil when the buy may go on.
local function saleRefusal(answer, now, startMs, endMs, already, limit, avail, qty)
  if now < startMs then return answer({ -3, startMs }) end
  if now >= endMs then return answer({ -4, endMs }) end
  if already + qty > limit then return answer({ -2, limit, already }) end
  if avail <= 0 then return answer({ -1, 0 }) end
  if avail < qty then return answer({ -6, avail }) end
  return nil
end
