--[[
  Reopens an item rebuilt after Redis lost its data: writes the item hash (from this moment the
  other scripts serve it again), makes sure the outbox stream and its relay group exist (the
  outbox may have survived: its entries are kept), writes the item's item.created event again
  if it was lost, and releases the rebuild lock.
  Input:
    KEYS[1] lock       string the rebuild lock, holding the rebuilder's token
    KEYS[2] item       hash   must not exist
    KEYS[3] outbox     stream
    ARGV[1] token
    ARGV[2] relay consumer group name
    ARGV[3] an item.created event to append to the outbox (it was lost with Redis), or empty
    ARGV[4..] the item's fields and values
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }              restored
    { 2 }              the item exists already (nothing written)
    { -21 }            the lock is not this rebuilder's
    { -20, reason }    invalid argument
]]
local lockKey, itemKey, outboxKey = KEYS[1], KEYS[2], KEYS[3]
local token, group = ARGV[1], ARGV[2]
if not token or token == '' or not group or group == '' or #ARGV < 5 or (#ARGV - 3) % 2 ~= 0 then return { -20, 'restore arguments' } end
if redis.call('GET', lockKey) ~= token then return { -21 } end
if redis.call('EXISTS', itemKey) == 1 then return { 2 } end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', itemKey, unpack(fields))
pcall(redis.call, 'XGROUP', 'CREATE', outboxKey, group, '0', 'MKSTREAM')
if ARGV[3] ~= '' then redis.call('XADD', outboxKey, '*', 'e', ARGV[3]) end
redis.call('DEL', lockKey)
return { 1 }
