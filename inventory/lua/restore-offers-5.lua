--[[
  Writes the team buy and the bargains of an item being rebuilt after Redis lost its data
  (inventory/rebuild.ts), while the item itself is still absent, so every team and bargain
  script answers "item unavailable" until restore-item puts the item back. Fenced by the
  rebuild lock like restore-part-6.lua: a rebuilder whose lock expired writes nothing.
  Input:
    KEYS[1] lock       string the rebuild lock, holding the rebuilder's token
    KEYS[2] item       hash   must not exist
    KEYS[3] teams      hash   the team buy's settings, teams, seats and counters (team-join-8.lua)
    KEYS[4] teamEnds   zset   open team ids by the end of their window
    KEYS[5] bargains   hash   the bargain settings, records, helpers and counters (bargain-start-3.lua)
    ARGV[1] token
    ARGV[2] part: clear (deletes teams, teamEnds, bargains) | teams (field, value pairs) |
            ends (score, member pairs) | bargains (field, value pairs)
    ARGV[3..] the data
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }              written
    { -21 }            the lock is not this rebuilder's
    { -22 }            the item exists already (restored by someone else)
    { -20, reason }    invalid argument
]]
local lockKey, itemKey, teamsKey, endsKey, bargainsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local token, part = ARGV[1], ARGV[2]
if not token or token == '' then return { -20, 'token' } end
if redis.call('GET', lockKey) ~= token then return { -21 } end
if redis.call('EXISTS', itemKey) == 1 then return { -22 } end
local n = #ARGV - 2
if part == 'clear' then
  redis.call('DEL', teamsKey, endsKey, bargainsKey)
  return { 1 }
end
if n == 0 then return { 1 } end
local args = {}
for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
if part == 'teams' and n % 2 == 0 then
  redis.call('HSET', teamsKey, unpack(args))
elseif part == 'ends' and n % 2 == 0 then
  redis.call('ZADD', endsKey, unpack(args))
elseif part == 'bargains' and n % 2 == 0 then
  redis.call('HSET', bargainsKey, unpack(args))
else
  return { -20, 'part' }
end
return { 1 }
