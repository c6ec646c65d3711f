--[[
  Releases a lock only if this holder still owns it.
  Input:
    KEYS[1] lock
    ARGV[1] the holder's token
  Output:
    1 released, 0 not the holder (expired and taken by another)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
