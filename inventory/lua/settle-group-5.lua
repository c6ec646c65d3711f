--[[
  Applies a closed group buy's settlement, computed outside by the pure settlement function
  (inventory/settlement.ts), to a batch of its orders. Each action names the hold version it was
  computed from; a hold that changed since (paid meanwhile, say) is skipped and reported, and the
  caller computes it again. Every action is idempotent by its event id and by the hold's state.
  Input:
    KEYS[1] item       hash   gstate (closed | settled), fprice, counters
    KEYS[2] users      hash   per-user quantities
    KEYS[3] holds      hash   order id -> hold record
    KEYS[4] deadlines  zset   unpaid holds by deadline
    KEYS[5] outbox     stream events for the relay
    ARGV[1] finish: 1 marks the group settled after this batch if nothing in it was skipped
                    (the caller found nothing else to do)
    ARGV[2..] triples: order id, hold version, action
      r   paid order above the final price: refund the difference (refund.issued, tier_settlement)
      p   unpaid hold above the final price: reprice it (order.repriced)
      c   unpaid hold of a failed group: cancel it, stock returns (order.cancelled, group_failed)
      f   paid order of a failed group: refund in full, stock returns (refund.issued, group_failed)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, applied, avail, ver, skipped order ids... }
    { 2, avail, ver }      already settled
    { -9 }                 not closed yet
    { -17 }                not a group buy
    { -10 }                item unavailable
    { -26 }                retired (nothing changes it any more)
    { -20, reason }        invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/item"
--- @include "includes/release-hold"

local itemKey, usersKey, holdsKey, deadlinesKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if (#ARGV - 1) % 3 ~= 0 then return { -20, 'actions' } end
local item = loadItem(itemKey)
if not item then return { -10 } end
if item.kind ~= 'group' then return { -17 } end
if item.gstate == 'settled' then return { 2, item.avail, item.ver } end
if item.retired then return { -26 } end
if item.gstate ~= 'closed' then return { -9 } end

local now = nowMs()
local final = item.fprice
local applied, skipped = 0, {}
for i = 2, #ARGV, 3 do
  local orderId, v, action = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local h = parseHold(redis.call('HGET', holdsKey, orderId))
  local done = false
  if h and h.v == v then
    if action == 'r' and h.st == 'p' and h.price > final then
      local amount = (h.price - final) * h.qty
      h.price = final
      h.v = h.v + 1
      redis.call('HSET', holdsKey, orderId, formatHold(h))
      item.ver = item.ver + 1
      emitEvent(outboxKey, item, now, { id = orderId .. ':refund:tier', type = 'refund.issued', order = orderId, user = h.user, amount = amount, reason = 'tier_settlement' })
      done = true
    elseif action == 'p' and h.st == 'h' and h.price > final then
      h.price = final
      h.v = h.v + 1
      redis.call('HSET', holdsKey, orderId, formatHold(h))
      item.ver = item.ver + 1
      emitEvent(outboxKey, item, now, {
        id = orderId .. ':repriced:' .. h.v, type = 'order.repriced', order = orderId, user = h.user, price = final, amount = final * h.qty,
      })
      done = true
    elseif action == 'c' and h.st == 'h' and item.outcome == 'failed' then
      releaseHold(usersKey, holdsKey, deadlinesKey, item, orderId, h, 'c')
      item.ver = item.ver + 1
      emitEvent(outboxKey, item, now, { id = orderId .. ':cancelled', type = 'order.cancelled', order = orderId, user = h.user, qty = h.qty, reason = 'group_failed' })
      done = true
    elseif action == 'f' and h.st == 'p' and item.outcome == 'failed' then
      local amount = h.price * h.qty
      item.sold = item.sold - h.qty
      item.avail = item.avail + h.qty
      local left = redis.call('HINCRBY', usersKey, h.user, -h.qty)
      if left <= 0 then redis.call('HDEL', usersKey, h.user) end
      h.st = 'r'
      h.v = h.v + 1
      redis.call('HSET', holdsKey, orderId, formatHold(h))
      item.ver = item.ver + 1
      emitEvent(outboxKey, item, now, { id = orderId .. ':refund:failed', type = 'refund.issued', order = orderId, user = h.user, amount = amount, reason = 'group_failed' })
      done = true
    end
  end
  if done then applied = applied + 1 else skipped[#skipped + 1] = orderId end
end
if applied > 0 then saveCounters(itemKey, item) end
if ARGV[1] == '1' and #skipped == 0 then redis.call('HSET', itemKey, 'gstate', 'settled') end
local out = { 1, applied, item.avail, item.ver }
for _, id in ipairs(skipped) do out[#out + 1] = id end
return out
