--[[
  Releases a lock (an item's rebuild lock) only if this holder still owns it, so a rebuilder
  whose lock expired never releases the lock of the one that took over.
  Input:
    KEYS[1] lock       string the holder's token
    ARGV[1] the holder's token
  Answers (the one format of common/contracts/script-codes.ts):
    { 1 }     released
    { -21 }   lock lost: not the holder (expired, or released by restore-item); nothing changed
    { -20, 'token' }   invalid argument
]]
if not ARGV[1] or ARGV[1] == '' then return { -20, 'token' } end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return { 1 }
end
return { -21 }
