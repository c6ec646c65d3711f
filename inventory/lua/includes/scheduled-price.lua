--[[
  Applies a scheduled price whose time has come (by the Redis clock): the price, a new version
  and a price.changed event. Called by reserve (so the first buy at the new time pays the new
  price) and by the sweeper's apply-price (so viewers see it on time without buys).
  Returns the price and version after.
]]
--- @include "emit-event"

local function applyScheduledPrice(itemKey, outboxKey, ej, price, np, nat, ver)
  local by = redis.call('HGET', itemKey, 'nby') or 'host'
  ver = ver + 1
  redis.call('HSET', itemKey, 'price', np, 'ver', ver)
  redis.call('HDEL', itemKey, 'np', 'nat', 'nby')
  emitJson(outboxKey, '{"id":"' .. string.match(ej, '^"item":"([^"]*)"') .. ':price:' .. ver .. '","type":"price.changed",' .. ej ..
    ',"price":' .. np .. ',"previous":' .. price .. ',"effectiveAt":' .. nat .. ',"by":' .. cjson.encode(by) ..
    ',"at":' .. nat .. ',"ver":' .. ver .. '}')
  return np, ver
end
