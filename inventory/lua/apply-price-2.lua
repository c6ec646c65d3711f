--[[
  Applies a scheduled price change whose time has come (the sweeper calls it, so viewers see the
  new price on time even when nobody buys). Reserve applies it too; whichever runs first does.
  Input:
    KEYS[1] item       hash   price, ver, np, nat, nby, ej
    KEYS[2] outbox     stream events for the relay
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, price, ver }      applied now (price.changed)
    { 4, price, ver }      nothing due
    { -10 }                item unavailable
]]
--- @include "includes/now-ms"
--- @include "includes/scheduled-price"

local itemKey, outboxKey = KEYS[1], KEYS[2]
local item = redis.call('HMGET', itemKey, 'price', 'ver', 'np', 'nat', 'ej')
if not item[1] then return { -10 } end
local price, ver = tonumber(item[1]), tonumber(item[2])
if not item[3] or nowMs() < tonumber(item[4]) then return { 4, price, ver } end
price, ver = applyScheduledPrice(itemKey, outboxKey, item[5], price, tonumber(item[3]), tonumber(item[4]), ver)
return { 1, price, ver }
