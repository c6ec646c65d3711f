--[[
  Starts a bargain for a shopper at the item's start price, with a seeded generator for its
  cuts (includes/bargain.lua). A shopper has one open bargain per item: starting again while it
  is open (in its window, not bought) answers that bargain (ALREADY).
  Input:
    KEYS[1] item      hash   kind, start, end, retired, ej, ver
    KEYS[2] bargains  hash   "cfg"; "b <id>" -> record; "h <id>" -> helper ids, space-separated;
                             "s <user>" -> the user's latest bargain id; "started", "helps", "bought" -> counters
    KEYS[3] outbox    stream events for the relay
    ARGV[1] user id
    ARGV[2] bargain id      letters, digits, - and _ (used only when a bargain starts)
    ARGV[3] seed            integer 1..2147483646
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, bargainId, start, floor, helpers, endsAt }       started (bargain.started)
    { 2, bargainId, current, floor, helpers, endsAt }     the user's open bargain (nothing changed)
    { -3, startMs }  { -4, endMs }   the sale has not started / has ended
    { -17 }          not offered for bargains
    { -10 }          item unavailable
    { -20, reason }  invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/bargain"

local itemKey, bargainsKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local userId, id = ARGV[1], ARGV[2]
local seed = parseInt(ARGV[3], 1, 2147483646)
if not userId or userId == '' or #userId > 128 or string.find(userId, ' ', 1, true) then return { -20, 'user' } end
if not id or #id > 64 or not string.match(id, '^[%w_-]+$') then return { -20, 'bargain id' } end
if not seed then return { -20, 'seed' } end
local item = redis.call('HMGET', itemKey, 'kind', 'start', 'end', 'retired', 'ej', 'ver')
if not item[1] then return { -10 } end
if item[1] ~= 'flash' then return { -17 } end
local cfg = redis.call('HGET', bargainsKey, 'cfg')
if not cfg then return { -17 } end
local now = nowMs()
if item[4] or now >= tonumber(item[3]) then return { -4, tonumber(item[3]) } end
if now < tonumber(item[2]) then return { -3, tonumber(item[2]) } end

local mine = redis.call('HGET', bargainsKey, 's ' .. userId)
if mine then
  local b = parseBargain(redis.call('HGET', bargainsKey, 'b ' .. mine))
  if b and b.st == 'o' and now < b.ends then return { 2, mine, b.cur, b.floor, b.k, b.ends } end
end
if redis.call('HEXISTS', bargainsKey, 'b ' .. id) == 1 then return { -20, 'bargain id in use' } end
local s, f, k, w = string.match(cfg, '^(%d+),(%d+),(%d+),(%d+),')
local b = { st = 'o', start = tonumber(s), floor = tonumber(f), k = tonumber(k), helped = 0, cur = tonumber(s),
  ends = math.min(now + tonumber(w), tonumber(item[3])), rng = seed, order = '', starter = userId }
redis.call('HSET', bargainsKey, 'b ' .. id, formatBargain(b), 's ' .. userId, id)
redis.call('HINCRBY', bargainsKey, 'started', 1)
local itemId = string.match(item[5], '^"item":"([^"]*)"')
-- The settings it started under, so the ledger has them even if their bargain.configured is not.
local newOnly = string.match(cfg, ',([01])$') == '1'
emitJson(outboxKey, '{"id":"' .. itemId .. ':bargain:' .. id .. ':started","type":"bargain.started",' .. item[5] ..
  ',"bargain":"' .. id .. '","user":' .. cjson.encode(userId) .. ',"start":' .. b.start .. ',"floor":' .. b.floor ..
  ',"helpers":' .. b.k .. ',"endsAt":' .. b.ends .. ',"seed":' .. seed .. ',"windowMs":' .. w ..
  ',"newUsersOnly":' .. tostring(newOnly) .. ',"at":' .. now .. ',"ver":' .. item[6] .. '}')
return { 1, id, b.start, b.floor, b.k, b.ends }
