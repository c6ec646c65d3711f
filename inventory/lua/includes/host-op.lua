--[[
  Idempotency of host commands: the first answer of an operation id is kept in the users hash
  under " op <id>" (user ids hold no spaces, so it never meets a user's field), as compact text
  (includes/answer.lua); a repeat answers { DUPLICATE, <first answer> }.
]]
--- @include "answer"

local function hostOpFirst(usersKey, opId)
  if opId == nil or opId == '' then return nil end
  local first = redis.call('HGET', usersKey, ' op ' .. opId)
  if first then return duplicateOf(first) end
  return nil
end

local function hostOpAnswer(usersKey, opId, a)
  if opId ~= nil and opId ~= '' then redis.call('HSET', usersKey, ' op ' .. opId, answerText(a)) end
  return a
end
