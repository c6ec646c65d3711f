--[[
  Server time in milliseconds, from the Redis clock (never the caller's), so a gateway with a
  skewed clock cannot open a sale early.
]]
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
