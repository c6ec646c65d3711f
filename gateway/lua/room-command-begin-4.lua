--[[
  Starts a host command in one step: takes the room's command lock, returns the first answer
  if the idempotency key was seen (releasing the lock, and appending the repeat's audit record
  to the room's audit outbox), else the room as it is now.
  Input:
    KEYS[1] lock     string the room's command lock
    KEYS[2] answers  hash   idempotency key -> answer (JSON)
    KEYS[3] room     hash   doc, version, offset, epoch
    KEYS[4] audit    stream the room's audit outbox (includes/audit-record)
    ARGV[1] lock token (released later with unlock-1.lua)
    ARGV[2] lock time to live (ms)
    ARGV[3] idempotency field (actor and key)
    ARGV[4] fingerprint of the command and its parameters (a repeat with another one: -27)
    ARGV[5] the audit record of a repeat (JSON, without outcome, version and offset), or ''
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, doc, version, offset, epoch }   locked; the room now
    { -5, 1, offset, version, output }   a repeat: the first answer of room-command (not locked)
    { -27 }                              the key was used for another command or parameters (not locked)
    { -23 }                              another command holds the lock
    { -24 }                              no such room (not locked)
]]
--- @include "includes/command-answer"
--- @include "includes/audit-record"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then
  return { -23 }
end
local first = redis.call('HGET', KEYS[2], ARGV[3])
if first then
  redis.call('DEL', KEYS[1])
  local r = commandRepeat(first, ARGV[4])
  if r[1] == -5 then
    appendAudit(KEYS[4], ARGV[5], 'duplicate', r[4], r[3])
  end
  return r
end
local cur = redis.call('HMGET', KEYS[3], 'doc', 'version', 'offset', 'epoch')
if not cur[1] then
  redis.call('DEL', KEYS[1])
  return { -24 }
end
return { 1, cur[1], cur[2], cur[3], cur[4] }
