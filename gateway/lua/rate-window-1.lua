--[[
  Counts one request in a fixed window.
  Input:
    KEYS[1] counter
    ARGV[1] window (ms)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, count in this window, ms until the window ends }
]]
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return { 1, n, redis.call('PTTL', KEYS[1]) }
