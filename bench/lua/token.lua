-- POST /auth/token with one API key (WRK_KEY); keeps each refresh token it receives in
-- WRK_OUT, one a line: the pre-issued list refresh.lua spends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"api_key":"' .. os.getenv("WRK_KEY") .. '"}'
local out = io.open(os.getenv("WRK_OUT"), "a")
response = function(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then out:write(token, "\n") end
  end
end
