--[[
  Appends one delta to a room: bumps the offset, replaces the document when the delta changes it
  (checking the version the change was based on), keeps the delta in the log for reconnecting
  subscribers, and publishes it on the room's shard channel to every gateway node.
  Input:
    KEYS[1] room     hash   doc, version, offset, epoch
    KEYS[2] log      stream retained deltas, entry id = "<offset>-0"
    KEYS[3] channel  the room's shard channel (same slot)
    ARGV[1] expected version: the change's base version, or '' for deltas that do not touch
            the document (stock levels)
    ARGV[2] delta (JSON)
    ARGV[3] new document (JSON), or '' when the delta leaves the document as it is
    ARGV[4] deltas to retain in the log
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, offset, version, epoch }   appended
    { -25, version }                version conflict: the document moved past the expected version
    { -24 }                         no such room in Redis
]]
--- @include "includes/append-delta"
local cur = redis.call('HMGET', KEYS[1], 'version', 'offset', 'epoch')
if not cur[1] then
  return { -24 }
end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= tonumber(cur[1]) then
  return { -25, tonumber(cur[1]) }
end
local offset, version, epoch = appendDelta(KEYS[1], KEYS[2], KEYS[3], cur, ARGV[2], ARGV[3], ARGV[4])
return { 1, offset, version, epoch }
