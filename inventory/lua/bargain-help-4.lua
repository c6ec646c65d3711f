--[[
  One help of a bargain: a distinct user (never the starter, once per bargain, and if the item
  says so a new user: one that has never held or bought this item) cuts the price by the next
  draw of the bargain's generator (includes/bargain.lua). The K-th help reaches the floor
  exactly. Atomic per bargain: the record, the helper list and the event change in this call.
  Input:
    KEYS[1] item      hash   ej, ver
    KEYS[2] users     hash   user -> quantity held or bought (the new-user check)
    KEYS[3] bargains  hash   bargain records (bargain-start-3.lua)
    KEYS[4] outbox    stream events for the relay
    ARGV[1] bargain id
    ARGV[2] helper user id
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, cut, current, helped, helpers, floor }   helped (bargain.helped)
    { -44 }          no such bargain
    { -45 }          bought, or its window ended
    { -46 }          this user helped it already, or is its starter
    { -47 }          it is at its floor: every help is in
    { -48 }          the bargain takes new users only, and this user has held or bought the item
    { -10 }          item unavailable
    { -20, reason }  invalid argument
]]
--- @include "includes/now-ms"
--- @include "includes/emit-event"
--- @include "includes/bargain"

local itemKey, usersKey, bargainsKey, outboxKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, helper = ARGV[1], ARGV[2]
if not id or #id > 64 or not string.match(id, '^[%w_-]+$') then return { -20, 'bargain id' } end
if not helper or helper == '' or #helper > 128 or string.find(helper, ' ', 1, true) then return { -20, 'user' } end
local item = redis.call('HMGET', itemKey, 'ej', 'ver', 'retired')
if not item[1] then return { -10 } end
local b = parseBargain(redis.call('HGET', bargainsKey, 'b ' .. id))
if not b then return { -44 } end
local now = nowMs()
if b.st ~= 'o' or now >= b.ends or item[3] then return { -45 } end
if helper == b.starter then return { -46 } end
local helpers = redis.call('HGET', bargainsKey, 'h ' .. id) or ''
for h in string.gmatch(helpers, '%S+') do
  if h == helper then return { -46 } end
end
if b.helped >= b.k then return { -47 } end
local cfg = redis.call('HGET', bargainsKey, 'cfg') or ''
if string.match(cfg, ',1$') and redis.call('HEXISTS', usersKey, helper) == 1 then return { -48 } end

local cut = nextCut(b)
b.cur = b.cur - cut
b.helped = b.helped + 1
redis.call('HSET', bargainsKey, 'b ' .. id, formatBargain(b), 'h ' .. id, helpers == '' and helper or helpers .. ' ' .. helper)
redis.call('HINCRBY', bargainsKey, 'helps', 1)
local itemId = string.match(item[1], '^"item":"([^"]*)"')
emitJson(outboxKey, '{"id":"' .. itemId .. ':bargain:' .. id .. ':help:' .. b.helped .. '","type":"bargain.helped",' .. item[1] ..
  ',"bargain":"' .. id .. '","user":' .. cjson.encode(helper) .. ',"cut":' .. cut .. ',"price":' .. b.cur ..
  ',"helped":' .. b.helped .. ',"at":' .. now .. ',"ver":' .. item[2] .. '}')
return { 1, cut, b.cur, b.helped, b.k, b.floor }
