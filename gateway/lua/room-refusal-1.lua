--[[
  Counts one refused host command of a room in a bounded hash: a field per (actor, role,
  command, error code); once the hash has `cap` fields, a new combination is counted under the
  overflow field (its command and code, any actor) instead of adding one.
  Input:
    KEYS[1] refusals hash   field -> count
    ARGV[1] field
    ARGV[2] overflow field
    ARGV[3] most fields kept
    ARGV[4] how long the counts are kept after the last refusal (ms)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, count of the field counted }
]]
local field = ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  field = ARGV[2]
end
local n = redis.call('HINCRBY', KEYS[1], field, 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return { 1, n }
