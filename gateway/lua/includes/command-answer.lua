-- A host command's first answer, as recorded for repeats: JSON {"offset":..,"version":..,"data":..}
-- (the gateway reads it as JSON too). A repeat answers in the one format of
-- common/contracts/script-codes.ts: { -5 (DUPLICATE), 1, offset, version, output }, the first
-- answer of room-command split back out of the record (which only room-command writes).
local function commandRecord(offset, version, data)
  return '{"offset":' .. offset .. ',"version":' .. version .. ',"data":' .. data .. '}'
end

local function commandRepeat(recorded)
  local offset, version, data = string.match(recorded, '^{"offset":(%d+),"version":(%d+),"data":(.*)}$')
  return { -5, 1, offset, version, data }
end
