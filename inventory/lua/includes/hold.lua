--[[
  A hold record, as stored in the holds hash under its order id:
    state,version,qty,unitPrice,deadline,user
  state: h held, p paid, c cancelled, e expired, r refunded (a paid order given back in full).
  The version starts at 1 and grows with every change of the hold (payment, price, state); a
  payment names the version it was made against. The user id comes last, so it may hold any
  printable character, commas included.
]]
local function parseHold(s)
  if not s then return nil end
  local st, v, qty, price, deadline, user = string.match(s, '^(%a),(%d+),(%d+),(%d+),(%d+),(.+)$')
  if not st then return nil end
  return { st = st, v = tonumber(v), qty = tonumber(qty), price = tonumber(price), deadline = tonumber(deadline), user = user }
end

local function formatHold(h)
  return h.st .. ',' .. h.v .. ',' .. h.qty .. ',' .. h.price .. ',' .. h.deadline .. ',' .. h.user
end
