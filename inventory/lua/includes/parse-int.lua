--[[
  Strict integer parsing of an ARGV value: digits only (optional leading minus), within
  [min, max]; returns nil for anything else (empty, fractional, non-numeric, out of range).
]]
local function parseInt(s, min, max)
  if type(s) ~= 'string' or not string.match(s, '^%-?%d+$') or #s > 16 then
    return nil
  end
  local n = tonumber(s)
  if n == nil or n < min or n > max then
    return nil
  end
  return n
end
