--[[
  Appends one event to the item's outbox stream, in the same script call that changed the state,
  so there is never a moment where stock moved but no event exists. The relay moves outbox
  entries to Kafka and deletes them only after Kafka acknowledged them.

  emitEvent takes a table (cold paths) and adds the item, room, version and time; emitJson takes
  the finished JSON text (hot paths build it by hand: cheaper than cjson on a table).
]]
local function emitJson(outboxKey, json)
  return redis.call('XADD', outboxKey, '*', 'e', json)
end

local function emitEvent(outboxKey, item, now, event)
  event.item = item.id
  event.room = item.room
  event.ver = item.ver
  event.at = now
  return emitJson(outboxKey, cjson.encode(event))
end
