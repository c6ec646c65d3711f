--[[
  Settles one team of a team buy when its outcome is known: formed when `size` members have
  paid (team.formed), failed when its window ended before that (team.failed). A failed team's
  unpaid holds are cancelled (order.cancelled, team_failed) and every paid member is refunded in
  full (refund.issued, team_failed, event id "<order>:refund:team"), their stock returning to
  available, in this one call: nobody's refund waits for anyone. A team is settled once; a
  second call answers ALREADY with the first outcome.
  Input:
    KEYS[1] item       hash   counters, retired
    KEYS[2] users      hash   per-user quantities
    KEYS[3] holds      hash   order id -> hold record
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    KEYS[6] teams      hash   team records (team-join-8.lua)
    KEYS[7] teamEnds   zset   open team ids by the end of their window
    ARGV[1] team id
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, outcome, paid, refunds, refundTotal, cancelled, avail, ver, size }   formed | failed now
    { 2, outcome, paid, 0, 0, 0, avail, ver, size }    settled before (outcome formed | failed)
    { 4, 'open', paid, seats, endsAt }           still open: fewer than size paid, window not over
    { -40 }                 no such team
    { -10 }                 item unavailable
    { -26 }                 retired
    { -20, reason }         invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/release-hold"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey, teamsKey, endsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local teamId = ARGV[1]
if not teamId or #teamId > 64 or not string.match(teamId, '^[%w_-]+$') then return { -20, 'team id' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
local t = redis.call('HGET', teamsKey, 't ' .. teamId)
if not t then return { -40 } end
local st, e, s, p, leader = string.match(t, '^(%a),(%d+),(%d+),(%d+),(.+)$')
local endsAt, size = tonumber(e), tonumber(s)
local names = { f = 'formed', x = 'failed' }

local orders, holds = {}, {}
local paid, seats = 0, 0
for o in string.gmatch(redis.call('HGET', teamsKey, 'm ' .. teamId) or '', '%S+') do
  local h = parseHold(redis.call('HGET', holdsKey, o))
  if h then
    orders[#orders + 1] = o
    holds[o] = h
    if h.st == 'p' then paid = paid + 1 end
    if h.st == 'h' or h.st == 'p' then seats = seats + 1 end
  end
end
if st ~= 'o' then return { 2, names[st], st == 'f' and paid or 0, 0, 0, 0, item.avail, item.ver, size } end
if item.retired then return { -26 } end

local now = nowMs()
if paid >= size then
  item.ver = item.ver + 1
  redis.call('HSET', teamsKey, 't ' .. teamId, 'f,' .. endsAt .. ',' .. size .. ',' .. p .. ',' .. leader)
  redis.call('ZREM', endsKey, teamId)
  redis.call('HINCRBY', teamsKey, 'formed', 1)
  emitEvent(outboxKey, item, now, { id = item.id .. ':team:' .. teamId .. ':formed', type = 'team.formed', team = teamId, size = size, paid = paid })
  saveCounters(itemKey, item)
  return { 1, 'formed', paid, 0, 0, 0, item.avail, item.ver, size }
end
if now < endsAt then return { 4, 'open', paid, seats, endsAt } end

local refunds, refundTotal, cancelled = 0, 0, 0
for _, o in ipairs(orders) do
  local h = holds[o]
  if h.st == 'h' then
    releaseHold(usersKey, holdsKey, deadlinesKey, item, o, h, 'c')
    item.ver = item.ver + 1
    emitEvent(outboxKey, item, now, { id = o .. ':cancelled', type = 'order.cancelled', order = o, user = h.user, qty = h.qty, reason = 'team_failed' })
    cancelled = cancelled + 1
  elseif h.st == 'p' then
    local amount = h.price * h.qty
    item.sold = item.sold - h.qty
    returnUnits(usersKey, item, h)
    h.st = 'r'
    h.v = h.v + 1
    redis.call('HSET', holdsKey, o, formatHold(h))
    item.ver = item.ver + 1
    emitEvent(outboxKey, item, now, { id = o .. ':refund:team', type = 'refund.issued', order = o, user = h.user, amount = amount, reason = 'team_failed' })
    refunds = refunds + 1
    refundTotal = refundTotal + amount
  end
end
item.ver = item.ver + 1
redis.call('HSET', teamsKey, 't ' .. teamId, 'x,' .. endsAt .. ',' .. size .. ',' .. p .. ',' .. leader)
redis.call('ZREM', endsKey, teamId)
redis.call('HINCRBY', teamsKey, 'failed', 1)
redis.call('HINCRBY', teamsKey, 'refunded', refundTotal)
emitEvent(outboxKey, item, now, { id = item.id .. ':team:' .. teamId .. ':failed', type = 'team.failed', team = teamId, size = size, paid = paid, refunds = refunds, refunded = refundTotal })
saveCounters(itemKey, item)
return { 1, 'failed', paid, refunds, refundTotal, cancelled, item.avail, item.ver, size }
