-- Appends one delta to a room whose HMGET version, offset, epoch is `cur`: bumps the offset,
-- replaces the document when `docJson` is not '' (bumping the version), keeps the delta in the
-- log for reconnecting subscribers and publishes it on the room's shard channel.
-- Returns offset, version, epoch.
local function appendDelta(roomKey, logKey, channel, cur, deltaJson, docJson, retain)
  local version = tonumber(cur[1])
  local offset = tonumber(cur[2]) + 1
  if docJson ~= '' then
    version = version + 1
    redis.call('HSET', roomKey, 'doc', docJson, 'version', version, 'offset', offset)
  else
    redis.call('HSET', roomKey, 'offset', offset)
  end
  local msg = '{"o":' .. offset .. ',"e":"' .. cur[3] .. '","v":' .. version .. ',"d":' .. deltaJson .. '}'
  redis.call('XADD', logKey, 'MAXLEN', '~', tonumber(retain) or 1000, offset .. '-0', 'm', msg)
  redis.call('SPUBLISH', channel, msg)
  return offset, version, cur[3]
end
