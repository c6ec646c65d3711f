--[[
  Retires an item whose sale is over and whose Redis state has nothing left to do: it is marked
  retired and every key of it expires after the retention period. The relay and the sweeper stop
  visiting it (the caller removes it from the outbox registry after this call).
  An item retires only when all of these hold (checked here, in one call, so nothing can slip in
  between the check and the mark):
    - the sale ended at least `grace` ms ago (Redis clock), so the host had time for refunds;
    - no unpaid hold is left (the deadlines index is empty: each was paid, expired or cancelled);
    - a group buy is settled;
    - no team of a team buy is still open (the sweeper settles each when its window ends);
    - the outbox is empty and nothing of it is pending: every event is in Kafka;
    - no rebuild holds the item's lock.
  A scheduled price of an ended sale can never apply: it is dropped.
  Once retired, the scripts that would change the item refuse (RETIRED -26, or "ended" for a buy and
  a subscription) and write nothing, so no key is created without the expiry and no event lands
  in an outbox nobody relays. Reading (a repeated buy's first answer, a paid order confirmed
  again) keeps working until the keys expire.
  Input:
    KEYS[1] item       hash
    KEYS[2] users      hash
    KEYS[3] holds      hash
    KEYS[4] deadlines  zset
    KEYS[5] subs       set
    KEYS[6] outbox     stream
    KEYS[7] lock       string
    KEYS[8] teams      hash
    KEYS[9] teamEnds   zset
    KEYS[10] bargains  hash
    ARGV[1] retention (ms)     integer >= 1000: how long the keys stay after retiring
    ARGV[2] grace (ms)         integer >= 0: how long after the sale's end before it may retire
    ARGV[3] relay consumer group name
  Answers (the one format of common/contracts/script-codes.ts):
    { 1, retiredAtMs }     retired now
    { 2, retiredAtMs }     was retired before (nothing changed)
    { 4, reason }          not yet (nothing changed): live | holds | group | teams | outbox | rebuilding
    { -10 }                item unavailable
    { -20, reason }        invalid argument
  Item hash field added: retired (ms, Redis clock). Every one of KEYS gets the retention expiry in
  this call, the team and bargain keys included, so no key of a retired item outlives it.
]]
--- @include "includes/now-ms"
--- @include "includes/parse-int"

local itemKey, deadlinesKey, outboxKey, lockKey, teamEndsKey = KEYS[1], KEYS[4], KEYS[6], KEYS[7], KEYS[9]
local retention = parseInt(ARGV[1], 1000, 99999999999999)
local grace = parseInt(ARGV[2], 0, 99999999999999)
if not retention then return { -20, 'retention' } end
if not grace then return { -20, 'grace' } end
if not ARGV[3] or ARGV[3] == '' then return { -20, 'group' } end

local item = redis.call('HMGET', itemKey, 'kind', 'end', 'gstate', 'retired')
if not item[1] then return { -10 } end
if item[4] then return { 2, tonumber(item[4]) } end
local now = nowMs()
if now < tonumber(item[2]) + grace then return { 4, 'live' } end
if redis.call('ZCARD', deadlinesKey) > 0 then return { 4, 'holds' } end
if item[1] == 'group' and item[3] ~= 'settled' then return { 4, 'group' } end
if redis.call('ZCARD', teamEndsKey) > 0 then return { 4, 'teams' } end
if redis.call('XLEN', outboxKey) > 0 then return { 4, 'outbox' } end
local ok, pending = pcall(redis.call, 'XPENDING', outboxKey, ARGV[3])
if ok and tonumber(pending[1]) > 0 then return { 4, 'outbox' } end
if redis.call('EXISTS', lockKey) == 1 then return { 4, 'rebuilding' } end

redis.call('HDEL', itemKey, 'np', 'nat', 'nby')
redis.call('HSET', itemKey, 'retired', now)
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], retention) end
return { 1, now }
