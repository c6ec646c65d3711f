--[[
  Offers a flash-sale item for bargains: a shopper starts one at the start price, helpers cut it
  down, and the K-th help reaches the floor exactly. Setting it again changes what new bargains
  get; a bargain keeps the terms it started with. A change bumps the item version and appends
  bargain.configured, so the ledger has the settings (a rebuild after a Redis loss restores
  them); the same settings again change nothing.
  Input:
    KEYS[1] item      hash   kind (must be flash), retired, id, room, ver
    KEYS[2] bargains  hash   "cfg" -> "start,floor,helpers,windowMs,newOnly" (bargain-help-4.lua lists the rest)
    KEYS[3] outbox    stream events for the relay
    ARGV[1] start price (fen)      integer 1..1000000000
    ARGV[2] floor price (fen)      integer >= 0, start - floor >= helpers (every help cuts at least 1 fen)
    ARGV[3] helpers K              integer 1..1000
    ARGV[4] window (ms)            integer 1000..604800000
    ARGV[5] new users only         1: a helper must never have held or bought this item; 0: anyone
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, start, floor, helpers, windowMs, newOnly }   set
    { -17 }   not a flash-sale item
    { -10 }   item unavailable
    { -26 }   retired
    { -20, reason }   invalid argument
]]
--- @include "includes/parse-int"
--- @include "includes/now-ms"
--- @include "includes/emit-event"

local itemKey, bargainsKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local start = parseInt(ARGV[1], 1, 1000000000)
local floor = parseInt(ARGV[2], 0, 1000000000)
local k = parseInt(ARGV[3], 1, 1000)
local windowMs = parseInt(ARGV[4], 1000, 604800000)
local newOnly = ARGV[5]
if not start or not floor or not k or not windowMs or (newOnly ~= '0' and newOnly ~= '1') or start - floor < k then
  return { -20, 'bargain settings' }
end
local item = redis.call('HMGET', itemKey, 'kind', 'retired', 'id', 'room', 'ver')
if not item[1] then return { -10 } end
if item[1] ~= 'flash' then return { -17 } end
if item[2] then return { -26 } end
local cfg = start .. ',' .. floor .. ',' .. k .. ',' .. windowMs .. ',' .. newOnly
if redis.call('HGET', bargainsKey, 'cfg') ~= cfg then
  local it = { id = item[3], room = item[4], ver = tonumber(item[5]) + 1 }
  redis.call('HSET', bargainsKey, 'cfg', cfg)
  redis.call('HSET', itemKey, 'ver', it.ver)
  emitEvent(outboxKey, it, nowMs(), { id = it.id .. ':bargain:cfg:' .. it.ver, type = 'bargain.configured', start = start, floor = floor,
    helpers = k, windowMs = windowMs, newUsersOnly = newOnly == '1' })
end
return { 1, start, floor, k, windowMs, tonumber(newOnly) }
