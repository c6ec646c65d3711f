--[[
  Creates a room's document once. A second call changes nothing.
  Input:
    KEYS[1] room  hash  doc (JSON), version, offset, epoch
    KEYS[2] log   stream the room's delta log
    ARGV[1] document (JSON)
    ARGV[2] epoch (a fresh random id: a new epoch tells subscribers their offsets are void)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }   created
    { 2 }   already existed (nothing changed)
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return { 2 }
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'version', 1, 'offset', 0, 'epoch', ARGV[2])
return { 1 }
