--[[
  Creates a flash-sale item's inventory, once. A second call for the same item changes nothing.
  Input:
    KEYS[1] item    hash   the item's counters and settings
    KEYS[2] outbox  stream the item's outbox (its relay consumer group is created here)
    ARGV[1] item id
    ARGV[2] room id
    ARGV[3] total stock              integer >= 0
    ARGV[4] unit price (fen)         integer >= 0
    ARGV[5] per-user limit           integer >= 1
    ARGV[6] sale start (ms)          integer; before it the item is in pre-heat
    ARGV[7] sale end (ms)            integer > start
    ARGV[8] hold duration (ms)       integer >= 1000
    ARGV[9] relay consumer group name
    ARGV[10] reminder lead (ms)      integer >= 0 and < hold duration; 0 = no payment reminders
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }                       created (item.created emitted with the settings)
    { 2 }                       already existed (nothing changed)
    { -20, 'item settings' }    invalid argument
  Item hash fields: id, room, kind (flash), ej (the item and room as a JSON fragment for events),
  total, avail, held, sold, ver, price, limit, start, end, hold_ms, rem_ms, rem (reminder
  cursor: deadlines up to it were reminded), and while a price change is scheduled np, nat, nby.
]]
--- @include "includes/parse-int"
--- @include "includes/now-ms"
--- @include "includes/emit-event"

local itemKey, outboxKey = KEYS[1], KEYS[2]
local total = parseInt(ARGV[3], 0, 1000000000)
local price = parseInt(ARGV[4], 0, 1000000000)
local limit = parseInt(ARGV[5], 1, 10000)
local startMs = parseInt(ARGV[6], 0, 99999999999999)
local endMs = parseInt(ARGV[7], 0, 99999999999999)
local holdMs = parseInt(ARGV[8], 1000, 86400000)
local remindMs = parseInt(ARGV[10], 0, 86400000)
if not total or not price or not limit or not startMs or not endMs or not holdMs or not remindMs
    or endMs <= startMs or remindMs >= holdMs
    or not ARGV[1] or ARGV[1] == '' or not ARGV[2] or ARGV[2] == '' or not ARGV[9] or ARGV[9] == '' then
  return { -20, 'item settings' }
end
if redis.call('EXISTS', itemKey) == 1 then
  return { 2 }
end
redis.call('HSET', itemKey,
  'id', ARGV[1], 'room', ARGV[2], 'kind', 'flash', 'ej', '"item":' .. cjson.encode(ARGV[1]) .. ',"room":' .. cjson.encode(ARGV[2]),
  'total', total, 'avail', total, 'held', 0, 'sold', 0, 'ver', 1,
  'price', price, 'limit', limit, 'start', startMs, 'end', endMs, 'hold_ms', holdMs, 'rem_ms', remindMs, 'rem', 0)
pcall(redis.call, 'XGROUP', 'CREATE', outboxKey, ARGV[9], '0', 'MKSTREAM')
emitEvent(outboxKey, { id = ARGV[1], room = ARGV[2], ver = 1 }, nowMs(), {
  id = ARGV[1] .. ':created', type = 'item.created', kind = 'flash', total = total, price = price, limit = limit,
  startsAt = startMs, endsAt = endMs, holdMs = holdMs, remindMs = remindMs,
})
return { 1 }
