--[[
  Reports this node's viewer count of a room and returns the room's total and peak: the sum of
  every node's fresh count (stale entries of vanished nodes are removed), and the highest sum
  ever returned.
  Input:
    KEYS[1] online  hash    node id -> "<count>:<ms>"
    KEYS[2] peak    string  highest total seen
    ARGV[1] node id
    ARGV[2] this node's count
    ARGV[3] now (ms, the reporting node's clock)
    ARGV[4] how old a node's report may be to count (ms)
    ARGV[5] how long the counts live without reports (ms)
    ARGV[6] how long the peak lives after the last report (ms)
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, online, peak }
]]
local now, stale, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
local all = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #all, 2 do
  local n, at = string.match(all[i + 1], '^(%d+):(%d+)$')
  if n and now - tonumber(at) <= stale then
    total = total + tonumber(n)
  elseif not n or now - tonumber(at) > ttl then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
local peak = tonumber(redis.call('GET', KEYS[2]) or '0')
if total > peak then
  peak = total
end
redis.call('SET', KEYS[2], peak, 'PX', tonumber(ARGV[6]))
return { 1, total, peak }
