-- POST /auth/refresh spending each pre-issued refresh token (WRK_TOKENS, one a line)
-- once, in order. Run with one thread (-t1): the list is not shared between threads.
-- Requests past the end of the list reuse nothing: they send an unknown token (401) and
-- are counted as failures, so a list that runs out shows up in the table.
local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i + 1
  local token = tokens[i] or "rt_exhausted"
  return wrk.format("POST", "/api/v1/auth/refresh",
    {["Content-Type"] = "application/json"}, '{"refresh_token":"' .. token .. '"}')
end
