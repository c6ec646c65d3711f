--[[
  Applies a host command to a room: the first answer of an idempotency key is returned again
  for a repeat; otherwise the command must be based on the current version, and its delta is
  appended (see room-append) and its answer recorded, in one step.
  Input:
    KEYS[1] room     hash   doc, version, offset, epoch
    KEYS[2] log      stream retained deltas
    KEYS[3] channel  the room's shard channel
    KEYS[4] answers  hash   idempotency key -> answer (JSON)
    ARGV[1] base version of the command
    ARGV[2] delta (JSON)
    ARGV[3] new document (JSON), or '' when the command leaves the document as it is
    ARGV[4] deltas to retain in the log
    ARGV[5] idempotency field (host and key)
    ARGV[6] command output (a JSON object), or '' for none
    ARGV[7] how long answers are kept (ms)
  Output:
    { offset, version, epoch }   applied
    { -200, answer }             a repeat: the first answer ({"offset":..,"version":..,"data":..})
    { -409, version }            conflict: the room moved past the base version
    { -10 }                      no such room in Redis
]]
--- @include "includes/append-delta"
local first = redis.call('HGET', KEYS[4], ARGV[5])
if first then
  return { -200, first }
end
local cur = redis.call('HMGET', KEYS[1], 'version', 'offset', 'epoch')
if not cur[1] then
  return { -10 }
end
if tonumber(ARGV[1]) ~= tonumber(cur[1]) then
  return { -409, tonumber(cur[1]) }
end
local offset, version, epoch = appendDelta(KEYS[1], KEYS[2], KEYS[3], cur, ARGV[2], ARGV[3], ARGV[4])
local data = ARGV[6]
if data == '' then
  data = 'null'
end
redis.call('HSET', KEYS[4], ARGV[5], '{"offset":' .. offset .. ',"version":' .. version .. ',"data":' .. data .. '}')
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[7]))
return { offset, version, epoch }
