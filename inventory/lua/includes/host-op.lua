--[[
  Idempotency of host commands: the first answer of an operation id is kept in the users hash
  under " op <id>" (user ids hold no spaces, so it never meets a user's field).
]]
local function hostOpFirst(usersKey, opId)
  if opId == nil or opId == '' then return nil end
  return redis.call('HGET', usersKey, ' op ' .. opId)
end

local function hostOpAnswer(usersKey, opId, answer)
  if opId ~= nil and opId ~= '' then redis.call('HSET', usersKey, ' op ' .. opId, answer) end
  return answer
end
