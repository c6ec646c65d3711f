--[[
  A bargain's record and its cuts. A bargain is stored in the item's bargains hash under
  "b <id>" as
    state,start,floor,helpers,helped,current,endsAt,rng,orderId,starter
  state: o open, b bought. (An open bargain past endsAt is expired: nothing changes it.)
  rng is the generator's state: minstd (Park-Miller), x' = x * 48271 mod 2^31-1, exact in
  doubles (x * 48271 < 2^47). The seed is drawn when the bargain starts; each help advances it
  once, so the cuts are a function of the seed alone (inventory/bargain.ts has the same function).

  The cut of a help, with `left` helps to go (this one included) and `remaining` fen above the
  floor: the last help cuts all that remains, so the K-th help reaches the floor exactly; every
  other help cuts from 1 to twice the even share (remaining / left), at most remaining - (left - 1)
  so every later help can still cut at least 1 fen. Never below 1 fen: a bargain is created only
  when start - floor >= helpers.
]]
local function parseBargain(s)
  if not s then return nil end
  local st, start, floor, k, helped, cur, ends, rng, order, starter =
    string.match(s, '^(%a),(%d+),(%d+),(%d+),(%d+),(%d+),(%d+),(%d+),([%w_-]*),(.+)$')
  if not st then return nil end
  return {
    st = st, start = tonumber(start), floor = tonumber(floor), k = tonumber(k), helped = tonumber(helped),
    cur = tonumber(cur), ends = tonumber(ends), rng = tonumber(rng), order = order, starter = starter,
  }
end

local function formatBargain(b)
  return b.st .. ',' .. b.start .. ',' .. b.floor .. ',' .. b.k .. ',' .. b.helped .. ',' .. b.cur .. ',' .. b.ends .. ',' ..
    b.rng .. ',' .. b.order .. ',' .. b.starter
end

local function nextCut(b)
  local left = b.k - b.helped
  local remaining = b.cur - b.floor
  b.rng = (b.rng * 48271) % 2147483647
  if left <= 1 then return remaining end
  local most = math.min(remaining - (left - 1), math.max(1, math.floor(2 * remaining / left)))
  return 1 + (b.rng % most)
end
