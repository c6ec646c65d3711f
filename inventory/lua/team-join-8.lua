--[[
  Opens a team of a team buy, or joins one by its id: one atomic call checks the team (open, in
  its window, a seat free), the user's teams, the sale window, the per-user limit and the stock,
  and writes the hold at the team price with the seat. A seat is taken by a member whose hold is
  held or paid; an expired or cancelled hold frees it. So a team never has more than `size` live
  members, whatever the concurrency: the count and the seat are taken in this one call. Members
  are real shoppers only: nothing ever fills a seat but a join.
  Input:
    KEYS[1] item       hash   avail, held, limit, start, end, hold_ms, ver, ej, kind, retired
    KEYS[2] users      hash   user -> quantity held or bought; "user key" -> first answer
    KEYS[3] holds      hash   order id -> hold record (includes/hold.lua)
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    KEYS[6] refused    string this key's refusal, expiring (ItemKeys.refused(user, key))
    KEYS[7] teams      hash   "cfg" -> "size,price,windowMs,teamsPerUser";
                              "t <team>" -> "state,endsAt,size,price,leader" (state o open, f formed, x failed);
                              "m <team>" -> member order ids, space-separated, in joining order;
                              "u <user>" -> "team:order" pairs of the user, space-separated;
                              "o <order>" -> the team of a seat's order;
                              "opened", "formed", "failed" -> counters
    KEYS[8] teamEnds   zset   open team ids scored by the end of their window (ms)
    ARGV[1] user id            no spaces
    ARGV[2] idempotency key    1..128 characters
    ARGV[3] order id           used only when a hold is created
    ARGV[4] how long a refusal is kept for repeats of its key (ms)
    ARGV[5] team id            letters, digits, - and _
    ARGV[6] 1: open the team (a new id); 0: join it
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, orderId, 1, unitPrice, deadlineMs, avail, ver, teamId, seatsTaken, size, teamEndsAt }   held
    { -5, <first answer> }   duplicate (its fields as text)
    { -20, 'team id in use' } opening a team under an id that exists (nothing recorded)
    { -27 }                  key reused for another request
    { -40 }                  no such team
    { -41, size }            the team is full
    { -42 }                  the team formed, failed or its window ended
    { -43, teamsPerUser }    the user is in this team already, or in as many live teams as allowed
    { -1, 0 }  { -6, avail }  { -2, limit, already }  { -3, startMs }  { -4, endMs }   as for reserve
    { -17 }                  not a team buy (no team settings on the item)
    { -10 }                  item unavailable
    { -20, reason }          invalid argument (nothing changed, nothing recorded)
  A team's window ends `windowMs` after its opening, or at the sale's end if that comes first
  (so every team is settled before the item may retire). A seat is one unit. Every answer except -5, -10, -17, -20 and -27 is recorded under the
  idempotency key (includes/buy.lua). The hold's payment deadline is the hold duration or the
  team's end, whichever comes first: a team whose window ended has no unpaid seat left to pay.
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/buy"
--- @include "includes/hold"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey, teamsKey, endsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[7], KEYS[8]
local userId, idem, orderId, teamId, opening = ARGV[1], ARGV[2], ARGV[3], ARGV[5], ARGV[6]
local qty = 1

local bad = badBuyArgs(userId, qty, idem, orderId)
if bad then return bad end
if not teamId or #teamId > 64 or not string.match(teamId, '^[%w_-]+$') then return { -20, 'team id' } end
if opening ~= '1' and opening ~= '0' then return { -20, 'open or join' } end

local item = redis.call('HMGET', itemKey, 'avail', 'held', 'limit', 'start', 'end', 'hold_ms', 'ver', 'ej', 'kind', 'retired')
if not item[1] then return { -10 } end
if item[9] ~= 'flash' then return { -17 } end
local cfgText = redis.call('HGET', teamsKey, 'cfg')
if not cfgText then return { -17 } end

local refusalTtl = parseInt(ARGV[4], 1, 86400000) or 600000
local idemField, mine, repeated, answer = userRecord(usersKey, KEYS[6], userId, idem, qty, refusalTtl)
if repeated then return repeated end
if item[10] then return { -4, tonumber(item[5]) } end

local now = nowMs()
local size, price, endsAt, leader
local members = {}
if opening == '1' then
  local s, p, w, per = string.match(cfgText, '^(%d+),(%d+),(%d+),(%d+)$')
  if redis.call('HEXISTS', teamsKey, 't ' .. teamId) == 1 then return { -20, 'team id in use' } end
  size, price, endsAt, leader = tonumber(s), tonumber(p), math.min(now + tonumber(w), tonumber(item[5])), userId
else
  local t = redis.call('HGET', teamsKey, 't ' .. teamId)
  if not t then return answer({ -40 }) end
  local st, e, s, p, l = string.match(t, '^(%a),(%d+),(%d+),(%d+),(.+)$')
  if st ~= 'o' or now >= tonumber(e) then return answer({ -42 }) end
  size, price, endsAt, leader = tonumber(s), tonumber(p), tonumber(e), l
  local live = 0
  for o in string.gmatch(redis.call('HGET', teamsKey, 'm ' .. teamId) or '', '%S+') do
    members[#members + 1] = o
    local h = parseHold(redis.call('HGET', holdsKey, o))
    if h and (h.st == 'h' or h.st == 'p') then
      if h.user == userId then return answer({ -43, 0 }) end
      live = live + 1
    end
  end
  if live >= size then return answer({ -41, size }) end
end

-- The user's live teams: a seat held or paid in a team that has not failed.
local perUser = tonumber(string.match(cfgText, ',(%d+)$'))
local mineText = redis.call('HGET', teamsKey, 'u ' .. userId) or ''
local liveTeams = 0
for _, o in string.gmatch(mineText, '([%w_-]+):([%w_-]+)') do
  local h = parseHold(redis.call('HGET', holdsKey, o))
  if h and (h.st == 'h' or h.st == 'p') then liveTeams = liveTeams + 1 end
end
if liveTeams >= perUser then return answer({ -43, perUser }) end

local startMs, endMs = tonumber(item[4]), tonumber(item[5])
if now < startMs then return answer({ -3, startMs }) end
if now >= endMs then return answer({ -4, endMs }) end
local already = tonumber(mine[1] or '0')
local limit = tonumber(item[3])
if already + qty > limit then return answer({ -2, limit, already }) end
local avail = tonumber(item[1])
if avail <= 0 then return answer({ -1, 0 }) end

avail = avail - qty
local ver = tonumber(item[7]) + 1
local deadline = math.min(now + tonumber(item[6]), endsAt)
redis.call('HSET', holdsKey, orderId, 'h,1,' .. qty .. ',' .. price .. ',' .. deadline .. ',' .. userId)
redis.call('ZADD', deadlinesKey, deadline, orderId)
local itemId = string.match(item[8], '^"item":"([^"]*)"')
if opening == '1' then
  -- The settings it opened under, so the ledger has them even if their team.configured is not.
  local cw, cper = string.match(cfgText, ',(%d+),(%d+)$')
  emitJson(outboxKey, '{"id":"' .. itemId .. ':team:' .. teamId .. ':opened","type":"team.opened",' .. item[8] ..
    ',"team":"' .. teamId .. '","leader":' .. cjson.encode(userId) .. ',"size":' .. size .. ',"price":' .. price ..
    ',"endsAt":' .. endsAt .. ',"windowMs":' .. cw .. ',"teamsPerUser":' .. cper .. ',"at":' .. now .. ',"ver":' .. ver .. '}')
  ver = ver + 1
  redis.call('HSET', teamsKey, 't ' .. teamId, 'o,' .. endsAt .. ',' .. size .. ',' .. price .. ',' .. userId)
  redis.call('ZADD', endsKey, endsAt, teamId)
  redis.call('HINCRBY', teamsKey, 'opened', 1)
end
emitJson(outboxKey, '{"id":"' .. orderId .. ':held","type":"order.held","kind":"flash","order":"' .. orderId .. '",' .. item[8] ..
  ',"user":' .. cjson.encode(userId) .. ',"idem":' .. cjson.encode(idem) .. ',"qty":' .. qty .. ',"price":' .. price ..
  ',"amount":' .. (price * qty) .. ',"deadline":' .. deadline .. ',"team":"' .. teamId .. '","at":' .. now .. ',"ver":' .. ver .. '}')
members[#members + 1] = orderId
redis.call('HSET', teamsKey, 'o ' .. orderId, teamId, 'm ' .. teamId, table.concat(members, ' '), 'u ' .. userId, (mineText == '' and '' or mineText .. ' ') .. teamId .. ':' .. orderId)
redis.call('HSET', itemKey, 'avail', avail, 'held', tonumber(item[2]) + qty, 'ver', ver)
local seats = 0
for _, o in ipairs(members) do
  local h = parseHold(redis.call('HGET', holdsKey, o))
  if h and (h.st == 'h' or h.st == 'p') then seats = seats + 1 end
end
local a = { 1, orderId, qty, price, deadline, avail, ver, teamId, seats, size, endsAt }
redis.call('HSET', usersKey, userId, already + qty, idemField, answerText(a))
return a
