--[[
  The one answer format (common/contracts/script-codes.ts): every script returns a flat array
  { code, field1, field2, ... }. A first answer that a repeat must see again is kept as compact
  text, "code,field1,field2,..." (no field holds a comma), and a repeat answers
  { -5 (DUPLICATE), code, field1, ... }: the first answer split back, its fields as text.
]]
local function answerText(a)
  return table.concat(a, ',')
end

local function duplicateOf(text)
  local out = { -5 }
  for f in string.gmatch(text, '[^,]+') do out[#out + 1] = f end
  out[2] = tonumber(out[2])
  return out
end
