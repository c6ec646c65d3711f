--[[
  Reserves stock of a flash-sale item for one user: the hold, the per-user count, the idempotency
  record and the outbox event are written together, or nothing is. The hot path: every command
  counts, so the item is read with one HMGET, the user's count and idempotency record with one
  more, and the answer and event are built as text.
  Input:
    KEYS[1] item       hash   avail, held, price, limit, start, end, hold_ms, ver, ej, kind, np, nat, retired
    KEYS[2] users      hash   user -> quantity held or bought; "user key" -> first answer
    KEYS[3] holds      hash   order id -> hold record (includes/hold.lua)
    KEYS[4] deadlines  zset   order id scored by its payment deadline (ms)
    KEYS[5] outbox     stream events for the relay
    KEYS[6] refused    string this key's refusal, expiring (ItemKeys.refused(user, key))
    ARGV[1] user id            no spaces
    ARGV[2] quantity           integer 1..10000
    ARGV[3] idempotency key    1..128 characters
    ARGV[4] order id           letters, digits, - and _; used only when a hold is created
    ARGV[5] how long a refusal is kept for repeats of its key (ms; default ten minutes)
    ARGV[6] the shopper's member tier: regular | silver | gold (empty: regular)
    ARGV[7] the coupon campaign to use (empty: none)
    ARGV[8] the shopper's lifecycle stage: new | active | dormant | churned (empty: none, no paid
            order); only a campaign's audience reads it
  The price follows common/contracts/pricing.ts (includes/price.lua): base, the item's member-day
  rule for the tier, then the coupon, which is reserved in this call with the hold
  (includes/coupon.lua) if the tier and stage are in the campaign's audience.
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, orderId, qty, unitPrice, deadlineMs, avail, ver, amount, breakdown }   held (amount:
                             what the hold costs after its discounts; breakdown: the steps)
    { -5, <first answer> }   duplicate: the key's first answer follows, its fields as text
    { -27 }                  key reused: the key's first request had another quantity or
                             another coupon, or a coupon where this has none or none where this
                             has one (nothing changed, nothing recorded, the first answer not shown)
    { -1, 0 }                sold out (nothing left)
    { -6, avail }            insufficient stock (some left, fewer than asked)
    { -2, limit, already }   per-user limit reached
    { -3, startMs }          not started (pre-heat)
    { -4, endMs }            ended
    { -17 }                  wrong kind (a group buy: join it instead)
    { -28, reason }          the coupon does not apply (unknown, not_valid_now, below_min_spend)
    { -29, reason }          the coupon is exhausted (budget, user)
    { -30, reason }          the coupon's audience does not include the buyer (tier, stage)
    { -10 }                  item unavailable (no inventory in Redis: unknown item, or data lost)
    { -20, reason }          invalid argument (nothing changed, nothing recorded)
  Every answer except -5, -10, -17, -20 and -27 is recorded under the idempotency key, as text
  (a success in the users hash; a refusal, which changed nothing, in its own expiring key:
  includes/buy.lua)
  ("1,orderId,...": includes/answer.lua), except the "ended" of a retired item (nothing is
  written to a retired item's expiring keys). A scheduled
  price whose time has come is applied first (its own version and price.changed event).
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/buy"
--- @include "includes/scheduled-price"
--- @include "includes/price"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local userId, idem, orderId = ARGV[1], ARGV[3], ARGV[4]
local qty = parseInt(ARGV[2], 1, 10000)

local bad = badBuyArgs(userId, qty, idem, orderId)
if bad then return bad end
local tier = ARGV[6]
if not tier or tier == '' then tier = 'regular' end
if tier ~= 'regular' and tier ~= 'silver' and tier ~= 'gold' then return { -20, 'tier' } end
local campaign = ARGV[7] or ''
if campaign ~= '' and (#campaign > 64 or not string.match(campaign, '^[%w_-]+$')) then return { -20, 'coupon' } end
local stage = ARGV[8] or ''
if stage ~= '' and stage ~= 'new' and stage ~= 'active' and stage ~= 'dormant' and stage ~= 'churned' then return { -20, 'stage' } end

local item = redis.call('HMGET', itemKey, 'avail', 'held', 'price', 'limit', 'start', 'end', 'hold_ms', 'ver', 'ej', 'kind', 'np', 'nat', 'retired')
if not item[1] then return { -10 } end
if item[10] ~= 'flash' then return { -17 } end

local refusalTtl = parseInt(ARGV[5], 1, 86400000) or 600000
local idemField, mine, repeated, answer = userRecord(usersKey, KEYS[6], userId, idem, qty, refusalTtl, campaign)
if repeated then return repeated end
-- Retired: ended, and nothing is written (its keys are expiring; a new field would outlive them).
if item[13] then return { -4, tonumber(item[6]) } end

local now = nowMs()
local price, ver = tonumber(item[3]), tonumber(item[8])
if item[11] and now >= tonumber(item[12]) then
  price, ver = applyScheduledPrice(itemKey, outboxKey, item[9], price, tonumber(item[11]), tonumber(item[12]), ver)
end
local already, avail = tonumber(mine[1] or '0'), tonumber(item[1])
local refused = saleRefusal(answer, now, tonumber(item[5]), tonumber(item[6]), already, tonumber(item[4]), avail, qty)
if refused then return refused end
local p = resolvePrice(holdsKey, price, qty, tier, stage, campaign, userId, now)
if p.refuse then return answer(p.refuse) end

avail = avail - qty
ver = ver + 1
local deadline = now + tonumber(item[7])
redis.call('HSET', itemKey, 'avail', avail, 'held', tonumber(item[2]) + qty, 'ver', ver)
redis.call('HSET', holdsKey, orderId, 'h,1,' .. qty .. ',' .. price .. ',' .. deadline .. ',' .. userId)
redis.call('ZADD', deadlinesKey, deadline, orderId)
reserveCoupon(holdsKey, orderId, p, userId, tier)
local priced = ''
if p.breakdown ~= 'b.' .. (price * qty) then
  priced = ',"discount":' .. (price * qty - p.amount) .. ',"breakdown":"' .. p.breakdown .. '"'
end
emitJson(outboxKey, '{"id":"' .. orderId .. ':held","type":"order.held","kind":"flash","order":"' .. orderId .. '",' .. item[9] ..
  ',"user":' .. cjson.encode(userId) .. ',"idem":' .. cjson.encode(idem) .. ',"qty":' .. qty .. ',"price":' .. price ..
  ',"amount":' .. p.amount .. priced .. ',"deadline":' .. deadline .. ',"at":' .. now .. ',"ver":' .. ver .. '}')
local a = { 1, orderId, qty, price, deadline, avail, ver, p.amount, p.breakdown }
redis.call('HSET', usersKey, userId, already + qty, idemField, answerText(a))
return a
