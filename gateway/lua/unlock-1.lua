--[[
  Releases a lock only if this holder still owns it.
  Input:
    KEYS[1] lock
    ARGV[1] the holder's token
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }     released
    { -21 }   lock lost: not the holder (expired and taken by another); nothing changed
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return { 1 }
end
return { -21 }
