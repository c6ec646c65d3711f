--[[
  Applies a host command to a room: the first answer of an idempotency key is returned again
  for a repeat; otherwise the command must be based on the current version, and its delta is
  appended (see room-append), its answer recorded and its audit record appended to the room's
  audit outbox, in one step: an applied command always has its audit record.
  Input:
    KEYS[1] room     hash   doc, version, offset, epoch
    KEYS[2] log      stream retained deltas
    KEYS[3] channel  the room's shard channel
    KEYS[4] answers  hash   idempotency key -> answer (JSON)
    KEYS[5] audit    stream the room's audit outbox (includes/audit-record)
    ARGV[1] base version of the command
    ARGV[2] delta (JSON)
    ARGV[3] new document (JSON), or '' when the command leaves the document as it is
    ARGV[4] deltas to retain in the log
    ARGV[5] idempotency field (host and key)
    ARGV[6] command output (a JSON object), or '' for none
    ARGV[7] how long answers are kept (ms)
    ARGV[8] fingerprint of the command and its parameters (a repeat with another one: -27)
    ARGV[9] the audit record (JSON, without outcome, version and offset), or '' for none
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, offset, version, output }      applied; output: the command output (JSON, or null)
    { -5, 1, offset, version, output }  a repeat: the first answer (includes/command-answer)
    { -27 }                             the key was used for another command or parameters
    { -25, version }                    version conflict: the room moved past the base version
    { -24 }                             no such room in Redis
]]
--- @include "includes/append-delta"
--- @include "includes/command-answer"
--- @include "includes/audit-record"
local first = redis.call('HGET', KEYS[4], ARGV[5])
if first then
  local r = commandRepeat(first, ARGV[8])
  if r[1] == -5 then
    appendAudit(KEYS[5], ARGV[9], 'duplicate', r[4], r[3])
  end
  return r
end
local cur = redis.call('HMGET', KEYS[1], 'version', 'offset', 'epoch')
if not cur[1] then
  return { -24 }
end
if tonumber(ARGV[1]) ~= tonumber(cur[1]) then
  return { -25, tonumber(cur[1]) }
end
local offset, version = appendDelta(KEYS[1], KEYS[2], KEYS[3], cur, ARGV[2], ARGV[3], ARGV[4])
local data = ARGV[6]
if data == '' then
  data = 'null'
end
redis.call('HSET', KEYS[4], ARGV[5], commandRecord(offset, version, data, ARGV[8]))
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[7]))
appendAudit(KEYS[5], ARGV[9], 'applied', version, offset)
return { 1, offset, version, data }
