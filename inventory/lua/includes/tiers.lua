--[[
  Tiers of a group buy, stored as "threshold:price,threshold:price,..." (thresholds ascending,
  prices descending, integers). Tier 0 is the base price; tier i is reached when the count is at
  least threshold i; any count above the top threshold gets the top price.
]]
local function parseTiers(s)
  local tiers = {}
  if type(s) ~= 'string' or s == '' then return nil end
  for t, p in string.gmatch(s, '(%d+):(%d+)') do
    tiers[#tiers + 1] = { t = tonumber(t), p = tonumber(p) }
  end
  if #tiers == 0 then return nil end
  return tiers
end

-- The tier reached at `count`: its index (0 = base), its unit price, and the next threshold (0: none).
local function tierAt(tiers, basePrice, count)
  local idx, price = 0, basePrice
  for i = 1, #tiers do
    if count >= tiers[i].t then
      idx, price = i, tiers[i].p
    else
      return idx, price, tiers[i].t
    end
  end
  return idx, price, 0
end
