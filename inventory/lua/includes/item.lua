--[[
  The item hash as a table (cold paths: every script but reserve and join), and saving the
  counters back. Numeric fields become numbers.
]]
local numericItemFields = {
  total = true, avail = true, held = true, sold = true, price = true, limit = true, start = true,
  ['end'] = true, hold_ms = true, rem_ms = true, rem = true, ver = true, count = true, tier = true,
  fprice = true, np = true, nat = true,
}

local function loadItem(itemKey)
  local raw = redis.call('HGETALL', itemKey)
  if #raw == 0 then return nil end
  local item = {}
  for i = 1, #raw, 2 do
    local k, v = raw[i], raw[i + 1]
    if numericItemFields[k] then item[k] = tonumber(v) else item[k] = v end
  end
  return item
end

local function saveCounters(itemKey, item)
  if item.kind == 'group' then
    redis.call('HSET', itemKey, 'total', item.total, 'avail', item.avail, 'held', item.held, 'sold', item.sold,
      'ver', item.ver, 'count', item.count, 'tier', item.tier)
  else
    redis.call('HSET', itemKey, 'total', item.total, 'avail', item.avail, 'held', item.held, 'sold', item.sold, 'ver', item.ver)
  end
end
