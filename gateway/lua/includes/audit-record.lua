-- Appends a host command's audit record to the room's audit outbox (a stream drained into
-- Postgres host_commands): the record as the gateway built it (JSON, without the outcome), the
-- outcome ('applied' or 'duplicate'), and the room version and offset it produced or repeated.
-- Called by the script that applies or answers the command, so the record exists exactly when
-- the outcome does. An empty record appends nothing.
local function appendAudit(auditKey, record, outcome, version, offset)
  if record == nil or record == '' then
    return
  end
  redis.call('XADD', auditKey, '*', 'r', record, 'o', outcome, 'v', tostring(version), 'f', tostring(offset))
end
