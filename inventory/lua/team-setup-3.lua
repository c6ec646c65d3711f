--[[
  Offers a flash-sale item as a team buy: a shopper opens a team at the team price, others
  join it by its id, and the team forms when `size` members have paid within its window. Setting
  it again changes what new teams get; a team keeps the size and price it was opened with.
  A change bumps the item version and appends team.configured, so the ledger has the settings
  (a rebuild after a Redis loss restores them); the same settings again change nothing.
  Input:
    KEYS[1] item    hash   kind (must be flash), retired, id, room, ver
    KEYS[2] teams   hash   "cfg" -> "size,price,windowMs,teamsPerUser" (team-join-8.lua lists the rest)
    KEYS[3] outbox  stream events for the relay
    ARGV[1] team size                 integer 2..100
    ARGV[2] team unit price (fen)     integer >= 0
    ARGV[3] team window (ms)          integer 1000..604800000: how long a team has to form
    ARGV[4] teams per user            integer 1..100: live teams a user may be in at once
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, size, price, windowMs, teamsPerUser }   set
    { -17 }                 not a flash-sale item (a tiered group buy has its own rules)
    { -10 }                 item unavailable
    { -26 }                 retired
    { -20, reason }         invalid argument
]]
--- @include "includes/parse-int"
--- @include "includes/now-ms"
--- @include "includes/emit-event"

local itemKey, teamsKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local size = parseInt(ARGV[1], 2, 100)
local price = parseInt(ARGV[2], 0, 1000000000)
local windowMs = parseInt(ARGV[3], 1000, 604800000)
local perUser = parseInt(ARGV[4], 1, 100)
if not size or not price or not windowMs or not perUser then return { -20, 'team settings' } end
local item = redis.call('HMGET', itemKey, 'kind', 'retired', 'id', 'room', 'ver')
if not item[1] then return { -10 } end
if item[1] ~= 'flash' then return { -17 } end
if item[2] then return { -26 } end
local cfg = size .. ',' .. price .. ',' .. windowMs .. ',' .. perUser
if redis.call('HGET', teamsKey, 'cfg') ~= cfg then
  local it = { id = item[3], room = item[4], ver = tonumber(item[5]) + 1 }
  redis.call('HSET', teamsKey, 'cfg', cfg)
  redis.call('HSET', itemKey, 'ver', it.ver)
  emitEvent(outboxKey, it, nowMs(), { id = it.id .. ':team:cfg:' .. it.ver, type = 'team.configured', size = size, price = price, windowMs = windowMs, teamsPerUser = perUser })
end
return { 1, size, price, windowMs, perUser }
