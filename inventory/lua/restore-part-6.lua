--[[
  Writes one part of an item being rebuilt after Redis lost its data (inventory/rebuild.ts),
  while the item itself is still absent, so every other script answers "item unavailable" until
  restore-item puts the item back. Fenced by the rebuild lock: a rebuilder whose lock expired
  writes nothing.
  Input:
    KEYS[1] lock       string the rebuild lock, holding the rebuilder's token
    KEYS[2] item       hash   must not exist
    KEYS[3] users      hash
    KEYS[4] holds      hash
    KEYS[5] deadlines  zset
    KEYS[6] subs       set
    ARGV[1] token
    ARGV[2] part: clear (deletes users, holds, deadlines, subs) | users | holds (field, value
            pairs) | deadlines (score, member pairs) | subs (members)
    ARGV[3..] the data
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }              written
    { -21 }            the lock is not this rebuilder's
    { -22 }            the item exists already (restored by someone else)
    { -20, reason }    invalid argument
]]
local lockKey, itemKey, usersKey, holdsKey, deadlinesKey, subsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local token, part = ARGV[1], ARGV[2]
if not token or token == '' then return { -20, 'token' } end
if redis.call('GET', lockKey) ~= token then return { -21 } end
if redis.call('EXISTS', itemKey) == 1 then return { -22 } end
local n = #ARGV - 2
if part == 'clear' then
  redis.call('DEL', usersKey, holdsKey, deadlinesKey, subsKey)
  return { 1 }
end
if n == 0 then return { 1 } end
local args = {}
for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
if part == 'users' and n % 2 == 0 then
  redis.call('HSET', usersKey, unpack(args))
elseif part == 'holds' and n % 2 == 0 then
  redis.call('HSET', holdsKey, unpack(args))
elseif part == 'deadlines' and n % 2 == 0 then
  redis.call('ZADD', deadlinesKey, unpack(args))
elseif part == 'subs' then
  redis.call('SADD', subsKey, unpack(args))
else
  return { -20, 'part' }
end
return { 1 }
