-- POST (or PATCH: WRK_METHOD) of a fixed JSON body (WRK_BODY) with one credential header
-- (WRK_HEADER: "Name: value").
wrk.method = os.getenv("WRK_METHOD") or "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
local header = os.getenv("WRK_HEADER")
if header and header ~= "" then
  local name, value = header:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
