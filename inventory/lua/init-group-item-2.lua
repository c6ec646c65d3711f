--[[
  Creates a tiered group buy's inventory, once. A second call for the same item changes nothing.
  Input:
    KEYS[1] item    hash   the item's counters and settings
    KEYS[2] outbox  stream the item's outbox (its relay consumer group is created here)
    ARGV[1]  item id
    ARGV[2]  room id
    ARGV[3]  capacity (total stock)   integer >= 0
    ARGV[4]  base unit price (fen)    integer >= 0
    ARGV[5]  per-user limit           integer >= 1
    ARGV[6]  joining opens (ms)
    ARGV[7]  joining ends (ms)        > opens
    ARGV[8]  hold duration (ms)       integer >= 1000
    ARGV[9]  relay consumer group name
    ARGV[10] reminder lead (ms)       integer >= 0 and < hold duration
    ARGV[11] tiers                    "threshold:price,..." thresholds ascending, prices descending, below base
    ARGV[12] count mode               p (people) | u (units)
    ARGV[13] below the first tier     fail | base
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }                       created (item.created emitted with the settings)
    { 2 }                       already existed (nothing changed)
    { -20, 'group settings' }   invalid argument
  Item hash fields: those of a flash item (kind group, price = base price) plus tiers, mode,
  below, count, tier (index reached, 0 = base), gstate (open | closed | settled), and once closed
  fprice (final unit price) and outcome (succeeded | failed | base_price).
]]
--- @include "includes/parse-int"
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/tiers"

local itemKey, outboxKey = KEYS[1], KEYS[2]
local total = parseInt(ARGV[3], 0, 1000000000)
local price = parseInt(ARGV[4], 0, 1000000000)
local limit = parseInt(ARGV[5], 1, 10000)
local startMs = parseInt(ARGV[6], 0, 99999999999999)
local endMs = parseInt(ARGV[7], 0, 99999999999999)
local holdMs = parseInt(ARGV[8], 1000, 86400000)
local remindMs = parseInt(ARGV[10], 0, 86400000)
local tiers = parseTiers(ARGV[11])
local mode, below = ARGV[12], ARGV[13]
if not total or not price or not limit or not startMs or not endMs or not holdMs or not remindMs or not tiers
    or endMs <= startMs or remindMs >= holdMs or (mode ~= 'p' and mode ~= 'u') or (below ~= 'fail' and below ~= 'base')
    or not ARGV[1] or ARGV[1] == '' or not ARGV[2] or ARGV[2] == '' or not ARGV[9] or ARGV[9] == '' then
  return { -20, 'group settings' }
end
local prevT, prevP = 0, price
for i = 1, #tiers do
  if tiers[i].t <= prevT or tiers[i].p >= prevP then return { -20, 'group settings' } end
  prevT, prevP = tiers[i].t, tiers[i].p
end
if redis.call('EXISTS', itemKey) == 1 then
  return { 2 }
end
redis.call('HSET', itemKey,
  'id', ARGV[1], 'room', ARGV[2], 'kind', 'group', 'ej', '"item":' .. cjson.encode(ARGV[1]) .. ',"room":' .. cjson.encode(ARGV[2]),
  'total', total, 'avail', total, 'held', 0, 'sold', 0, 'ver', 1,
  'price', price, 'limit', limit, 'start', startMs, 'end', endMs, 'hold_ms', holdMs, 'rem_ms', remindMs, 'rem', 0,
  'tiers', ARGV[11], 'mode', mode, 'below', below, 'count', 0, 'tier', 0, 'gstate', 'open')
pcall(redis.call, 'XGROUP', 'CREATE', outboxKey, ARGV[9], '0', 'MKSTREAM')
local tierList = {}
for i = 1, #tiers do tierList[i] = { threshold = tiers[i].t, price = tiers[i].p } end
emitEvent(outboxKey, { id = ARGV[1], room = ARGV[2], ver = 1 }, nowMs(), {
  id = ARGV[1] .. ':created', type = 'item.created', kind = 'group', total = total, price = price, limit = limit,
  startsAt = startMs, endsAt = endMs, holdMs = holdMs, remindMs = remindMs, tiers = tierList,
  countBy = mode == 'p' and 'people' or 'units', belowFirstTier = below,
})
return { 1 }
