--[[
  Appends one delta to a room: bumps the offset, replaces the document when the delta changes it
  (checking the version the change was based on), keeps the delta in the log for reconnecting
  subscribers, and publishes it on the room's shard channel to every gateway node.

  Versioned state (stock levels, group progress) is monotonic here, where every writer's deltas
  meet: several processes append them (a gateway's coalesced buys, a payment that expired its own
  hold, the sweeper's expiries), each with an item version read at its own moment, so they can
  arrive in any order. The room hash keeps the highest version appended per state key
  ('sv:<key>'); a part whose version is not above it is left out, and a delta left with no part
  is not appended at all (SUPERSEDED). The log, and so every socket, never carries an older
  version of a key after a newer one.
  Input:
    KEYS[1] room     hash   doc, version, offset, epoch, sv:<state key> (highest version appended)
    KEYS[2] log      stream retained deltas, entry id = "<offset>-0"
    KEYS[3] channel  the room's shard channel (same slot)
    ARGV[1] expected version: the change's base version, or '' for deltas that do not touch
            the document (stock levels, group progress)
    ARGV[2] delta (JSON), or '' for a stock delta: built from the parts that are newer
    ARGV[3] new document (JSON), or '' when the delta leaves the document as it is
    ARGV[4] deltas to retain in the log
    ARGV[5] n: the delta's versioned state parts (0 for a delta without any)
    ARGV[6 + 3i], ARGV[7 + 3i], ARGV[8 + 3i] (i < n): the part's state key, its version, and
            for a stock delta the item's JSON ({"id","available","ver"}; '' otherwise)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, offset, version, epoch }   appended
    { 5, version }                  superseded: every part had a newer version appended before
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
local n = tonumber(ARGV[5]) or 0
local delta = ARGV[2]
if n > 0 then
  local fresh, items = {}, {}
  for i = 0, n - 1 do
    local key, ver, item = ARGV[6 + 3 * i], tonumber(ARGV[7 + 3 * i]), ARGV[8 + 3 * i]
    local seen = tonumber(redis.call('HGET', KEYS[1], 'sv:' .. key) or -1)
    if ver > seen then
      fresh[#fresh + 1] = 'sv:' .. key
      fresh[#fresh + 1] = ver
      if item ~= '' then items[#items + 1] = item end
    end
  end
  if #fresh == 0 then
    return { 5, tonumber(cur[1]) }
  end
  redis.call('HSET', KEYS[1], unpack(fresh))
  if delta == '' then
    delta = '{"t":"stock","items":[' .. table.concat(items, ',') .. ']}'
  end
end
local offset, version, epoch = appendDelta(KEYS[1], KEYS[2], KEYS[3], cur, delta, ARGV[3], ARGV[4])
return { 1, offset, version, epoch }
