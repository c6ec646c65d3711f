--[[
  The expiry sweep of one item: every unpaid hold whose deadline has passed (Redis clock)
  returns its stock, exactly once (its state changes in this call, so a second sweeper, or a
  late payment, finds it expired). At most `batch` holds per call.
  Input:
    KEYS[1] item       hash   counters
    KEYS[2] users      hash   per-user quantities
    KEYS[3] holds      hash   order id -> hold record
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    ARGV[1] batch              integer 1..10000
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, expired, avail, ver, more, count, tier }   more = 1: due holds may remain (call again);
                                                    count and tier: group buys (0 otherwise)
    { -10 }                item unavailable
    { -20, reason }        invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/release-hold"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local batch = parseInt(ARGV[1], 1, 10000)
if not batch then return { -20, 'batch' } end
local item = loadItem(itemKey)
if not item then return { -10 } end

local now = nowMs()
local due = redis.call('ZRANGEBYSCORE', deadlinesKey, '-inf', now, 'LIMIT', 0, batch)
local expired = 0
for _, orderId in ipairs(due) do
  local h = parseHold(redis.call('HGET', holdsKey, orderId))
  if h and h.st == 'h' then
    releaseHold(usersKey, holdsKey, deadlinesKey, item, orderId, h, 'e')
    item.ver = item.ver + 1
    emitEvent(outboxKey, item, now, { id = orderId .. ':expired', type = 'order.expired', order = orderId, user = h.user, qty = h.qty })
    expired = expired + 1
  else
    redis.call('ZREM', deadlinesKey, orderId)
  end
end
if expired > 0 then saveCounters(itemKey, item) end
return { 1, expired, item.avail, item.ver, #due == batch and 1 or 0, item.count or 0, item.tier or 0 }
