-- POST /rooms/{id}/participants: 50 participants a room, rooms created by the join
-- (the bench tenant has allow_early_join). WRK_KEY: the tenant's API key.
local key = os.getenv("WRK_KEY")
local run = os.getenv("WRK_RUN") or "r"
local i = 0
request = function()
  i = i + 1
  local room = string.format("bench-%s-%d", run, math.floor(i / 50))
  return wrk.format("POST", "/api/v1/rooms/" .. room .. "/participants",
    {["Content-Type"] = "application/json", ["X-API-Key"] = key},
    '{"display_name":"P' .. i .. '"}')
end
