-- A GET with one credential header (WRK_HEADER: "Name: value").
local header = os.getenv("WRK_HEADER")
local name, value = header:match("^([^:]+):%s*(.*)$")
wrk.headers[name] = value
