--[[
  Sets a flash-sale item's member-day rule, or adds a coupon campaign to it, in the item's holds
  hash (includes/coupon.lua). A campaign is added once: adding it again with the same settings
  answers ALREADY and changes nothing (its coupons left are not reset); with other settings it is
  refused (KEY_REUSED). A member-day rule replaces the one before (it prices later holds only:
  every hold keeps the price it was made at). A change bumps the item version and appends a
  promotion.set event, so the ledger has every rule and campaign (a rebuild restores them).
  Input:
    KEYS[1] item    hash
    KEYS[2] holds   hash
    KEYS[3] outbox  stream
    ARGV[1] what: md | campaign
    md:       ARGV[2..5] threshold, regularOff, silverOff, goldOff (fen)
    campaign: ARGV[2] id, ARGV[3] kind (fixed | percent | spend), ARGV[4] amount, ARGV[5] percent,
              ARGV[6] minSpend, ARGV[7] perUser, ARGV[8] startsMs, ARGV[9] endsMs, ARGV[10] budget,
              ARGV[11] the audience's tiers, ARGV[12] its stages: "|"-joined lists (empty: any);
              a campaign with neither keeps the config it had before audiences existed
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 } set now    { 2 } the same campaign was there already    { -27 } another campaign has that id
    { -10 } item unavailable    { -17 } not a flash sale    { -20, reason } invalid argument
]]
--- @include "includes/parse-int"
--- @include "includes/now-ms"
--- @include "includes/emit-event"

local itemKey, holdsKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local meta = redis.call('HMGET', itemKey, 'kind', 'id', 'room', 'ver')
local kind = meta[1]
if not kind then return { -10 } end
if kind ~= 'flash' then return { -17 } end

-- Records the change as a promotion.set event with the item's next version.
local function emitSet(what, id, config)
  local item = { id = meta[2], room = meta[3], ver = tonumber(meta[4]) + 1 }
  redis.call('HSET', itemKey, 'ver', item.ver)
  local event = { id = item.id .. ':promo:' .. what .. ':' .. (id or '') .. ':' .. item.ver, type = 'promotion.set', what = what, config = config }
  if id then event.campaign = id end
  emitEvent(outboxKey, item, nowMs(), event)
end
local money = 10000000000000
if ARGV[1] == 'md' then
  local v = {}
  for i = 2, 5 do
    v[i - 1] = parseInt(ARGV[i], 0, money)
    if not v[i - 1] then return { -20, 'member-day rule' } end
  end
  redis.call('HSET', holdsKey, '~ md', table.concat(v, ','))
  emitSet('md', nil, table.concat(v, ','))
  return { 1 }
end
if ARGV[1] ~= 'campaign' then return { -20, 'what' } end
local id = ARGV[2]
if not id or #id > 64 or not string.match(id, '^[%w_-]+$') then return { -20, 'campaign id' } end
local ck = ARGV[3]
if ck ~= 'fixed' and ck ~= 'percent' and ck ~= 'spend' then return { -20, 'coupon kind' } end
local amount, percent, minSpend = parseInt(ARGV[4], 0, money), parseInt(ARGV[5], 0, 99), parseInt(ARGV[6], 0, money)
local perUser, s, e, budget = parseInt(ARGV[7], 1, 1000000), parseInt(ARGV[8], 0, 99999999999999), parseInt(ARGV[9], 0, 99999999999999), parseInt(ARGV[10], 1, 100000000)
if not amount or not percent or not minSpend or not perUser or not s or not e or not budget or e <= s then return { -20, 'campaign' } end
if ck == 'percent' and percent < 1 then return { -20, 'percent' } end
local cfg = table.concat({ ck, amount, percent, minSpend, perUser, s, e, budget }, ',')
-- The audience: each name checked against its list (common/contracts/pricing.ts), at most once.
local function audienceList(raw, allowed)
  local list = '*'
  if raw == nil or raw == '' then return list end
  local seen = {}
  for x in string.gmatch(raw .. '|', '([^|]*)|') do
    if not allowed[x] or seen[x] then return nil end
    seen[x] = true
  end
  list = raw
  return list
end
local tiers = audienceList(ARGV[11], { regular = true, silver = true, gold = true })
local stages = audienceList(ARGV[12], { new = true, active = true, dormant = true, churned = true })
if not tiers or not stages then return { -20, 'audience' } end
if tiers ~= '*' or stages ~= '*' then cfg = cfg .. ',' .. tiers .. ',' .. stages end
local prior = redis.call('HGET', holdsKey, '~ c ' .. id)
if prior then
  if prior == cfg then return { 2 } end
  return { -27 }
end
redis.call('HSET', holdsKey, '~ c ' .. id, cfg, '~ b ' .. id, budget, '~ n ' .. id, 0, '~ s ' .. id, 0)
emitSet('campaign', id, cfg)
return { 1 }
