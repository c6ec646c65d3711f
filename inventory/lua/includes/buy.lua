--[[
  What a flash-sale reserve and a group join share: the check of their arguments, and the user's
  idempotency record and count, read with one HMGET.

  badBuyArgs returns the invalid-argument answer ({ -20, reason }), or nil when all are valid.
  userRecord returns the idempotency field, { first answer (text) or nil, units held or bought
  or nil } and a function that records an answer under the key and returns it.
]]
--- @include "answer"

local function badBuyArgs(userId, qty, idem, orderId)
  if not userId or userId == '' or #userId > 128 or string.find(userId, ' ', 1, true) then return { -20, 'user' } end
  if not qty then return { -20, 'quantity' } end
  if not idem or idem == '' or #idem > 128 then return { -20, 'idempotency key' } end
  if not orderId or #orderId > 64 or not string.match(orderId, '^[%w_-]+$') then return { -20, 'order id' } end
  return nil
end

local function userRecord(usersKey, userId, idem)
  local field = userId .. ' ' .. idem
  local mine = redis.call('HMGET', usersKey, field, userId)
  local function answer(a)
    redis.call('HSET', usersKey, field, answerText(a))
    return a
  end
  return field, mine, answer
end
