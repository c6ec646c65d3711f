-- A host command's first answer, as recorded for repeats: JSON
-- {"fp":"..","offset":..,"version":..,"data":..} (the gateway reads it as JSON too); fp is the
-- hash of the command and its parameters, so a key belongs to one request. A repeat answers in
-- the one format of common/contracts/script-codes.ts: { -5 (DUPLICATE), 1, offset, version,
-- output }, the first answer split back out of the record (which only room-command writes), or
-- { -27 } (KEY_REUSED) when the repeat's fingerprint is not the first request's.
local function commandRecord(offset, version, data, fp)
  local head = '{'
  if fp and fp ~= '' then head = '{"fp":"' .. fp .. '",' end
  return head .. '"offset":' .. offset .. ',"version":' .. version .. ',"data":' .. data .. '}'
end

local function commandRepeat(recorded, fp)
  local firstFp = string.match(recorded, '^{"fp":"([^"]*)",')
  if fp and fp ~= '' and firstFp and firstFp ~= fp then
    return { -27 }
  end
  local offset, version, data = string.match(recorded, '"offset":(%d+),"version":(%d+),"data":(.*)}$')
  return { -5, 1, offset, version, data }
end
